{#- Tear the demo down: brine call --local --config examples/docker/minion.yaml state.apply app.absent -#}
{% set app = pillar.get('app', {}) %}
{% for i in range(1, app.get('replicas', 2) + 1) %}
app-{{ i }}-absent:
  docker_container.absent:
    - name: brine-demo-app{{ i }}
    - force: True
    - require_in:
      - docker_network: app-net-absent
      - docker_volume: app-data-absent
{% endfor %}

app-net-absent:
  docker_network.absent:
    - name: brine-demo-net

app-data-absent:
  docker_volume.absent:
    - name: brine-demo-data

app-image-absent:
  docker_image.absent:
    - name: brine-demo/app:{{ app.get('tag', '1.0') }}
    - require:
      - docker_volume: app-data-absent
