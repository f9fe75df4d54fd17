"""The staffing-alert service: thresholds, alert state, notifications, the reception page."""
