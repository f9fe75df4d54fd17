"""Edge box: frames in, counts out."""
