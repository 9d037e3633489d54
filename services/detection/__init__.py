"""DetectionService: is an image real or generated, and where is the evidence."""
