package platform

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"

	"github.com/brine-cm/brine/states/file/fsx"
)

// WriteFile replaces a system file with data, atomically where it can: a
// temporary file renamed over path, keeping the old file's mode and owner
// (mode applies to a new file). Where the file is a mount point, as
// /etc/hosts is in a container, rename cannot replace it and the file is
// rewritten in place instead.
func WriteFile(path string, data []byte, mode fs.FileMode) error {
	opt := fsx.NewWriteOptions()
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		opt.Mode = &mode
	}
	err := fsx.AtomicWrite(path, data, opt)
	if err == nil || !(errors.Is(err, syscall.EBUSY) || errors.Is(err, syscall.EXDEV)) {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
