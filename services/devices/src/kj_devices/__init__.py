"""The device gateway: JT/T 808 vehicle terminals over TCP, phones over HTTP, the officer app."""
