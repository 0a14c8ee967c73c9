users:
  nobody: {}
