"""The sandbox: a local stand-in for Sheets v4, Calendar v3, Gmail v1 and OAuth; imports nothing else from worker."""
