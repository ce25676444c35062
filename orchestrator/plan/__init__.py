"""What a drill will do before it does it: the forecast, pod placement, the timetable."""
