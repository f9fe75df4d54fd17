"""`wartezone setup`: the installer's page. Each camera's current picture, people pixelated and privacy
masks black, zones and masks drawn on it, live counts from the pipeline; saved into the site's YAML.

config_file  the YAML written back with its comments and order (shared with `wartezone calibrate`)
picture      one frame through the camera's pipeline, and the picture the page may show of it
session      the cameras read and analysed while the page is open; the drafts; saving
server       HTTP on 127.0.0.1 with a token made for this run;  page  the page itself
"""

DEFAULT_PORT = 9470
