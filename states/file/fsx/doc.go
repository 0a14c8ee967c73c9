// Package fsx holds the file-system primitives that the file state module
// and the file execution module share, so that both write, compare and
// describe files the same way: atomic replacement, directory creation with
// explicit permissions, Salt-compatible unified diffs, content hashes and
// owner lookups. Nothing here knows about states, results or SLS.
package fsx
