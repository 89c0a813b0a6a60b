
3 spans rejected