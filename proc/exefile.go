package proc

import (
	"bytes"
	"debug/elf"
	"debug/macho"
	"debug/pe"
	"fmt"
	"io"
	"os"
)

// checkExecutable reports whether the file at path is a complete executable
// of a format it recognizes (ELF, Mach-O, PE): every section and segment
// with data in the file must end within it. A binary caught half-written,
// even one whose writer paused longer than any quiet period, fails this
// check, since its last sections reach past its end. A file of another
// format (a script) is accepted as it is. It returns an error wrapping
// ErrIncompleteExecutable, or the error of reading the file.
func checkExecutable(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%w: %s is not a regular file", ErrIncompleteExecutable, path)
	}
	size := uint64(fi.Size())
	magic := make([]byte, 4)
	if _, err := io.ReadFull(f, magic); err != nil {
		return fmt.Errorf("%w: %s has %d bytes", ErrIncompleteExecutable, path, size)
	}
	incomplete := func(what string, end uint64) error {
		return fmt.Errorf("%w: %s: %s ends at byte %d of %d", ErrIncompleteExecutable, path, what, end, size)
	}
	switch {
	case bytes.Equal(magic, []byte(elf.ELFMAG)):
		ef, err := elf.NewFile(f)
		if err != nil {
			return fmt.Errorf("%w: %s (%w)", ErrIncompleteExecutable, path, err)
		}
		for _, p := range ef.Progs {
			if end := p.Off + p.Filesz; end > size {
				return incomplete("segment", end)
			}
		}
		for _, s := range ef.Sections {
			if s.Type == elf.SHT_NOBITS {
				continue
			}
			if end := s.Offset + s.FileSize; end > size {
				return incomplete("section "+s.Name, end)
			}
		}
	case isMachO(magic):
		mf, err := macho.NewFile(f)
		if err != nil {
			return fmt.Errorf("%w: %s (%w)", ErrIncompleteExecutable, path, err)
		}
		for _, l := range mf.Loads {
			if s, ok := l.(*macho.Segment); ok {
				if end := s.Offset + s.Filesz; end > size {
					return incomplete("segment "+s.Name, end)
				}
			}
		}
	case magic[0] == 'M' && magic[1] == 'Z':
		pf, err := pe.NewFile(f)
		if err != nil {
			return fmt.Errorf("%w: %s (%w)", ErrIncompleteExecutable, path, err)
		}
		for _, s := range pf.Sections {
			if end := uint64(s.Offset) + uint64(s.Size); s.Offset != 0 && end > size {
				return incomplete("section "+s.Name, end)
			}
		}
	}
	return nil
}

func isMachO(m []byte) bool {
	le := uint32(m[0]) | uint32(m[1])<<8 | uint32(m[2])<<16 | uint32(m[3])<<24
	be := uint32(m[3]) | uint32(m[2])<<8 | uint32(m[1])<<16 | uint32(m[0])<<24
	for _, v := range []uint32{macho.Magic32, macho.Magic64} {
		if le == v || be == v {
			return true
		}
	}
	return false
}
