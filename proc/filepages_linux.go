package proc

import (
	"bufio"
	"bytes"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// dropFilePages takes the clean pages of read-only file mappings (the
// executable's code and constants, those of the C library) out of the
// master's resident set. The master is the same binary as the
// application, and its start touches most of it: some 9 MB of resident
// pages, of which it then runs little. The pages stay in the page cache,
// shared with the workers, and a page the master needs again is mapped
// back on access, as after the kernel reclaimed it under memory pressure.
//
// NOTE: only mappings without anonymous (copied-on-write) pages are
// dropped: a read-only mapping with such pages holds data written before
// it was made read-only (a C library's relocations), which dropping would
// lose.
func dropFilePages() {
	b, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		return
	}
	var start, end uint64
	candidate := false
	flush := func() {
		if candidate && end > start {
			syscall.Syscall(syscall.SYS_MADVISE, uintptr(start), uintptr(end-start), syscall.MADV_DONTNEED)
		}
		candidate = false
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Text()
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if lo, hi, ok := strings.Cut(f[0], "-"); ok && len(f) >= 5 && !strings.HasSuffix(f[0], ":") {
			// A mapping's header: "start-end perms offset dev inode [path]".
			flush()
			s, err1 := strconv.ParseUint(lo, 16, 64)
			e, err2 := strconv.ParseUint(hi, 16, 64)
			perms := f[1]
			candidate = err1 == nil && err2 == nil && len(perms) == 4 &&
				perms[1] != 'w' && perms[3] == 'p' && f[4] != "0" &&
				len(f) >= 6 && strings.HasPrefix(f[5], "/")
			start, end = s, e
			continue
		}
		if f[0] == "Anonymous:" && f[1] != "0" {
			candidate = false
		}
	}
	flush()
}
