// Package version holds brine's release number, reported by the CLI and as
// the saltversion grain so that SLS written against grains['saltversion']
// keeps rendering.
package version

// Version is the brine release, semantic versioning.
const Version = "0.1.0"
