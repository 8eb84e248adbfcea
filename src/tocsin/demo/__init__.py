"""The demonstration: the site ``tocsin demo`` builds and serves (:mod:`.site`) and the
summary of detections on the bundled influenza data (:mod:`.summary`)."""
