"""Local stand-ins for what the test machine cannot reach (remote tile servers, PastVu)."""
