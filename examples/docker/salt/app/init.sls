{#- The demo app: an image built from salt://app/image, a private network,
    a shared volume and N replicas. Values come from pillar `app`. -#}
{% set app = pillar.get('app', {}) %}
{% set tag = app.get('tag', '1.0') | string %}
{% set image = 'brine-demo/app:' ~ tag %}

app-image:
  docker_image.present:
    - name: brine-demo/app
    - tag: "{{ tag }}"
    - build: salt://app/image
    - labels:
        app: brine-demo

app-net:
  docker_network.present:
    - name: brine-demo-net
    - internal: {{ app.get('internal', False) }}
    - labels:
        app: brine-demo

app-data:
  docker_volume.present:
    - name: brine-demo-data
    - labels:
        app: brine-demo

{% for i in range(1, app.get('replicas', 2) + 1) %}
app-{{ i }}:
  docker_container.running:
    - name: brine-demo-app{{ i }}
    - image: {{ image }}
    - environment:
      - GREETING: {{ app.get('greeting', 'hello') }}
      - REPLICA: "{{ i }}"
    - port_bindings:
      - 127.0.0.1:{{ app.get('base_port', 18080) + i }}:8080
    - binds:
      - brine-demo-data:/data
    - networks:
      - brine-demo-net:
        - aliases:
          - app
          - app{{ i }}
    - restart_policy: unless-stopped
    - mem_limit: 64m
    - labels:
        app: brine-demo
    - require:
      - docker_network: app-net
      - docker_volume: app-data
    # A rebuilt image replaces the replicas (they would notice the new
    # image anyway; watch makes the dependency explicit).
    - watch:
      - docker_image: app-image
{% endfor %}
