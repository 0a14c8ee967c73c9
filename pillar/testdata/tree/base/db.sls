db: true
