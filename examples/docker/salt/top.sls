# Minions with the grain roles:docker run the demo app. In a fleet:
#   brine -G 'roles:docker' state.apply
base:
  'roles:docker':
    - match: grain
    - app
