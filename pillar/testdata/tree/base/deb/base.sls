deb:
  mirror: deb.debian.org
  components: [main]
ports:
  https: 8443
