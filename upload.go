package baton

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"os"
	"path/filepath"
	"strings"
)

// ErrUploadFileName is returned by UploadFile.Save for a client file name
// that would leave the directory or is no file name at all: one with a
// path separator or "..", an absolute path, a drive or device name, or
// an empty name.
var ErrUploadFileName = errors.New("baton: unsafe upload file name")

// UploadFile is a file of a multipart form, after GoFrame's
// ghttp.UploadFile: the *multipart.FileHeader (Filename, Size, Header,
// Open) with Save. Filename is what the client sent: do not use it as a
// path. The file's bytes are valid until the handler chain returns.
type UploadFile struct {
	*multipart.FileHeader
}

// UploadFiles is the files of one multipart form field.
type UploadFiles []*UploadFile

// MarshalJSON encodes the file's header: name, size and MIME headers.
func (f UploadFile) MarshalJSON() ([]byte, error) { return json.Marshal(f.FileHeader) }

// Save writes the file into directory dir, which it creates (mode 0755)
// if missing, and returns the name it saved it under. The name is the
// client's file name, which must be a plain file name: one with a path
// separator (/ or \), "..", a colon (a drive or a stream), a NUL, or a
// name Windows reserves is refused with ErrUploadFileName, so that a client cannot write outside
// dir. With randomName true, the file is saved under a random name with
// the client name's extension instead. An existing file of that name is
// overwritten, as in GoFrame. Save of a nil *UploadFile returns an error.
func (f *UploadFile) Save(dir string, randomName ...bool) (string, error) {
	if f == nil || f.FileHeader == nil {
		return "", errors.New("baton: save upload file: no file (wrong field name, or not a multipart form?)")
	}
	name, err := uploadName(f.Filename)
	if err != nil {
		return "", err
	}
	if len(randomName) > 0 && randomName[0] {
		var b [12]byte
		if _, err := rand.Read(b[:]); err != nil {
			return "", fmt.Errorf("baton: save upload file: %w", err)
		}
		ext := filepath.Ext(name)
		if len(ext) > 16 {
			ext = ""
		}
		name = hex.EncodeToString(b[:]) + strings.ToLower(ext)
	}
	if fi, err := os.Stat(dir); err == nil {
		if !fi.IsDir() {
			return "", fmt.Errorf("baton: save upload file: %s is not a directory", dir)
		}
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("baton: save upload file: %w", err)
	}
	src, err := f.Open()
	if err != nil {
		return "", fmt.Errorf("baton: save upload file %q: %w", name, err)
	}
	defer src.Close()
	path := filepath.Join(dir, name)
	dst, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return "", fmt.Errorf("baton: save upload file: %w", err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return "", fmt.Errorf("baton: save upload file %s: %w", path, err)
	}
	if err := dst.Close(); err != nil {
		return "", fmt.Errorf("baton: save upload file %s: %w", path, err)
	}
	return name, nil
}

// uploadName checks that the client's file name is a plain file name.
// It is checked as sent, not cleaned: a name that needs cleaning is
// refused rather than guessed at.
func uploadName(name string) (string, error) {
	bad := name == "" || name == "." || name == ".." ||
		strings.ContainsAny(name, "/\\:\x00") || strings.Contains(name, "..") ||
		filepath.Base(name) != name || !filepath.IsLocal(name)
	if bad {
		return "", fmt.Errorf("%w: %q", ErrUploadFileName, name)
	}
	return name, nil
}

// Save writes every file into dir as UploadFile.Save does and returns
// the names they were saved under; it stops at the first error. Save of
// no files returns an error.
func (fs UploadFiles) Save(dir string, randomName ...bool) ([]string, error) {
	if len(fs) == 0 {
		return nil, errors.New("baton: save upload files: no file (wrong field name, or not a multipart form?)")
	}
	names := make([]string, 0, len(fs))
	for _, f := range fs {
		name, err := f.Save(dir, randomName...)
		if err != nil {
			return names, err
		}
		names = append(names, name)
	}
	return names, nil
}

// GetUploadFile returns the first file of the multipart form field name,
// or nil if the request has none. A form it cannot read whole ends the
// request, as for Get.
func (r *Request) GetUploadFile(name string) *UploadFile {
	if fs := r.GetUploadFiles(name); len(fs) > 0 {
		return fs[0]
	}
	return nil
}

// GetUploadFiles returns the files of the multipart form field name, or
// nil if the request has none. A form it cannot read whole ends the
// request, as for Get.
func (r *Request) GetUploadFiles(name string) UploadFiles {
	if err := r.readBody(); err != nil {
		r.fail(err)
	}
	mf := r.Request.MultipartForm
	if mf == nil || len(mf.File[name]) == 0 {
		return nil
	}
	fs := make(UploadFiles, len(mf.File[name]))
	for i, fh := range mf.File[name] {
		fs[i] = &UploadFile{FileHeader: fh}
	}
	return fs
}
