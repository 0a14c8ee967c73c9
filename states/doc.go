// Package states is the SLS language and the state engine: it renders SLS
// files (Jinja, then YAML), compiles them (top file, include, extend, names,
// requisites) into an ordered list of low chunks and runs them, returning
// Salt's result structure. State modules live in sub-packages and register
// here by their Salt name; nothing in this package knows how files or pillar
// reach the host, so the masterless CLI and the minion share it unchanged.
package states
