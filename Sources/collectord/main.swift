print("collectord")
