"""The feedback service's pure rules (no I/O): who may read what, what may be given, the
anonymity threshold and the weeks and periods items count in."""
