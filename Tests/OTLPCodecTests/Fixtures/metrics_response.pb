
3 data points rejected