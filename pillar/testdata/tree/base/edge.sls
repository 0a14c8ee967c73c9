edge: {{ grains["id"] }}
