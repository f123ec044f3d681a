package main

import (
	"context"
	"errors"
	"net/http"

	"github.com/baton-go/baton"
	"github.com/baton-go/baton/g"
)

// Book is a book as the API shows it.
type Book struct {
	ID     int64  `json:"id"`
	Title  string `json:"title"`
	Author string `json:"author"`
	Year   int    `json:"year,omitempty"`
	ISBN   string `json:"isbn,omitempty"`
}

// BookFields are the fields a client writes.
type BookFields struct {
	Title  string `json:"title" v:"required|length:1,200" dc:"the title"`
	Author string `json:"author" v:"required|max-length:100" dc:"the author, or authors"`
	Year   int    `json:"year" v:"between:0,2100" dc:"the year of publication; 0 if unknown"`
	ISBN   string `json:"isbn" v:"regex:^[0-9]{9}[0-9X]$|^[0-9]{13}$#isbn must be an ISBN-10 or an ISBN-13, without dashes"`
}

// ListReq lists the books, a page at a time.
type ListReq struct {
	g.Meta `path:"/books" method:"get" tags:"books" summary:"List books"`
	Author string `json:"author" dc:"only the books of this author"`
	Page   int    `json:"page" d:"1" v:"min:1"`
	Size   int    `json:"size" d:"20" v:"between:1,100"`
}

// ListRes is a page of books.
type ListRes struct {
	Books []Book `json:"books"`
	Total int    `json:"total" dc:"the number of books, all pages together"`
}

// GetReq reads one book.
type GetReq struct {
	g.Meta `path:"/books/{id}" method:"get" tags:"books" summary:"Get a book"`
	ID     int64 `json:"id" v:"min:1"`
}

// CreateReq adds a book.
type CreateReq struct {
	g.Meta `path:"/books" method:"post" tags:"books" summary:"Add a book"`
	BookFields
}

// UpdateReq replaces a book's fields.
type UpdateReq struct {
	g.Meta `path:"/books/{id}" method:"put" tags:"books" summary:"Update a book"`
	ID     int64 `json:"id" v:"min:1"`
	BookFields
}

// DeleteReq removes a book.
type DeleteReq struct {
	g.Meta `path:"/books/{id}" method:"delete" tags:"books" summary:"Delete a book"`
	ID     int64 `json:"id" v:"min:1"`
}

// DeleteRes says which book went.
type DeleteRes struct {
	ID int64 `json:"id"`
}

// books is the controller: each exported method is an operation.
type books struct {
	store *store
}

// Error codes of the envelope, beside baton's.
const (
	codeNoBook    = 1001
	codeDuplicate = 1002
)

func notFound(err error) error {
	if errors.Is(err, errNotFound) {
		return baton.NewError(http.StatusNotFound, codeNoBook, "no such book")
	}
	if errors.Is(err, errDuplicate) {
		return baton.NewError(http.StatusConflict, codeDuplicate, "a book with this isbn exists")
	}
	return err
}

// List lists the books, newest first.
func (c *books) List(ctx context.Context, req *ListReq) (*ListRes, error) {
	list, total, err := c.store.List(ctx, req.Author, (req.Page-1)*req.Size, req.Size)
	if err != nil {
		return nil, err
	}
	return &ListRes{Books: list, Total: total}, nil
}

// Get returns one book.
func (c *books) Get(ctx context.Context, req *GetReq) (*Book, error) {
	b, err := c.store.Get(ctx, req.ID)
	return b, notFound(err)
}

// Create adds a book.
func (c *books) Create(ctx context.Context, req *CreateReq) (*Book, error) {
	b, err := c.store.Create(ctx, req.BookFields)
	return b, notFound(err)
}

// Update replaces a book's fields.
func (c *books) Update(ctx context.Context, req *UpdateReq) (*Book, error) {
	b, err := c.store.Update(ctx, req.ID, req.BookFields)
	return b, notFound(err)
}

// Delete removes a book.
func (c *books) Delete(ctx context.Context, req *DeleteReq) (*DeleteRes, error) {
	if err := c.store.Delete(ctx, req.ID); err != nil {
		return nil, notFound(err)
	}
	return &DeleteRes{ID: req.ID}, nil
}
