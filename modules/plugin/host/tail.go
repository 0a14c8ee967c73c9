package host

import (
	"strings"
	"sync"
)

// stderrTail keeps the end of a plugin's raw stderr, so that the error for
// a crash can quote the panic that caused it.
type stderrTail struct {
	mu  sync.Mutex
	buf []byte
}

const tailSize = 16 << 10

func (t *stderrTail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - tailSize; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

// panicLine returns the first line of the last Go panic or fatal error
// the plugin printed, or "".
func (t *stderrTail) panicLine() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	lines := strings.Split(string(t.buf), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		l := strings.TrimSpace(lines[i])
		if strings.HasPrefix(l, "panic: ") || strings.HasPrefix(l, "fatal error: ") || strings.HasPrefix(l, "Traceback ") {
			if strings.HasPrefix(l, "Traceback ") {
				// Python: the exception is the last non-empty line.
				for j := len(lines) - 1; j > i; j-- {
					if s := strings.TrimSpace(lines[j]); s != "" {
						return s
					}
				}
			}
			return l
		}
	}
	return ""
}
