package fsx

import (
	"crypto/md5"  //nolint:gosec // Salt users give md5 source hashes; it is compared, not trusted for secrecy
	"crypto/sha1" //nolint:gosec // as above
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"os"
	"strings"
)

// hashForms lists the hash types Salt's file functions accept, weakest first.
var hashForms = []string{"md5", "sha1", "sha224", "sha256", "sha384", "sha512"}

// NewHash returns a hash by Salt's name for it.
func NewHash(form string) (hash.Hash, error) {
	switch strings.ToLower(form) {
	case "md5":
		return md5.New(), nil //nolint:gosec
	case "sha1":
		return sha1.New(), nil //nolint:gosec
	case "sha224":
		return sha256.New224(), nil
	case "sha256":
		return sha256.New(), nil
	case "sha384":
		return sha512.New384(), nil
	case "sha512":
		return sha512.New(), nil
	}
	return nil, fmt.Errorf("unknown hash type %q (want one of %s)", form, strings.Join(hashForms, ", "))
}

// HashBytes returns the hex digest of b.
func HashBytes(form string, b []byte) (string, error) {
	h, err := NewHash(form)
	if err != nil {
		return "", err
	}
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil)), nil
}

// HashFile returns the hex digest of the file at path.
func HashFile(form, path string) (string, error) {
	h, err := NewHash(form)
	if err != nil {
		return "", err
	}
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("hash %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// FormForHex guesses the hash type from a hex digest's length, as Salt does
// for a bare source_hash; "" when the length matches none.
func FormForHex(digest string) string {
	for _, c := range digest {
		if !strings.ContainsRune("0123456789abcdefABCDEF", c) {
			return ""
		}
	}
	switch len(digest) {
	case 32:
		return "md5"
	case 40:
		return "sha1"
	case 56:
		return "sha224"
	case 64:
		return "sha256"
	case 96:
		return "sha384"
	case 128:
		return "sha512"
	}
	return ""
}
