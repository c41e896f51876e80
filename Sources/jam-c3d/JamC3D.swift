print("jam-c3d: not built yet")
