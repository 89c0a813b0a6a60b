
3 log records rejected