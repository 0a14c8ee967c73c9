dc: fra1
