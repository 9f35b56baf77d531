"""Pure tracking logic: validation of fixes, unit state, arrival, check-ins, silence.
Nothing here knows Kafka, SQL or HTTP; times are epoch seconds (floats)."""
