package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"

	_ "modernc.org/sqlite" // the "sqlite" driver, pure Go
)

var (
	errNotFound  = errors.New("api: no such book")
	errDuplicate = errors.New("api: duplicate isbn")
)

// store keeps the books in SQLite. During a reload the old worker and the
// new one have the file open together: WAL lets one write while the other
// reads, and the busy timeout makes a writer wait for the other rather
// than fail.
type store struct {
	db *sql.DB
}

func openStore(path string) (*store, error) {
	dsn := "file:" + (&url.URL{Path: path}).EscapedPath() +
		"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	_, err = db.Exec(`CREATE TABLE IF NOT EXISTS books (
		id     INTEGER PRIMARY KEY AUTOINCREMENT,
		title  TEXT NOT NULL,
		author TEXT NOT NULL,
		year   INTEGER NOT NULL DEFAULT 0,
		isbn   TEXT UNIQUE
	)`)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("create the books table in %s: %w", path, err)
	}
	return &store{db: db}, nil
}

func (s *store) Close() error { return s.db.Close() }

func (s *store) List(ctx context.Context, author string, offset, limit int) ([]Book, int, error) {
	where, args := "", []any{}
	if author != "" {
		where, args = " WHERE author = ?", append(args, author)
	}
	var total int
	if err := s.db.QueryRowContext(ctx, "SELECT count(*) FROM books"+where, args...).Scan(&total); err != nil {
		return nil, 0, err
	}
	rows, err := s.db.QueryContext(ctx, "SELECT id, title, author, year, coalesce(isbn, '') FROM books"+where+
		" ORDER BY id DESC LIMIT ? OFFSET ?", append(args, limit, offset)...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	list := []Book{}
	for rows.Next() {
		var b Book
		if err := rows.Scan(&b.ID, &b.Title, &b.Author, &b.Year, &b.ISBN); err != nil {
			return nil, 0, err
		}
		list = append(list, b)
	}
	return list, total, rows.Err()
}

func (s *store) Get(ctx context.Context, id int64) (*Book, error) {
	b := Book{ID: id}
	err := s.db.QueryRowContext(ctx, "SELECT title, author, year, coalesce(isbn, '') FROM books WHERE id = ?", id).
		Scan(&b.Title, &b.Author, &b.Year, &b.ISBN)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errNotFound
	}
	if err != nil {
		return nil, err
	}
	return &b, nil
}

func (s *store) Create(ctx context.Context, f BookFields) (*Book, error) {
	res, err := s.db.ExecContext(ctx, "INSERT INTO books (title, author, year, isbn) VALUES (?, ?, ?, ?)",
		f.Title, f.Author, f.Year, nullable(f.ISBN))
	if err != nil {
		return nil, duplicate(err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return nil, err
	}
	return &Book{ID: id, Title: f.Title, Author: f.Author, Year: f.Year, ISBN: f.ISBN}, nil
}

func (s *store) Update(ctx context.Context, id int64, f BookFields) (*Book, error) {
	res, err := s.db.ExecContext(ctx, "UPDATE books SET title = ?, author = ?, year = ?, isbn = ? WHERE id = ?",
		f.Title, f.Author, f.Year, nullable(f.ISBN), id)
	if err != nil {
		return nil, duplicate(err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return nil, errors.Join(errNotFound, err)
	}
	return &Book{ID: id, Title: f.Title, Author: f.Author, Year: f.Year, ISBN: f.ISBN}, nil
}

func (s *store) Delete(ctx context.Context, id int64) error {
	res, err := s.db.ExecContext(ctx, "DELETE FROM books WHERE id = ?", id)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return errors.Join(errNotFound, err)
	}
	return nil
}

// nullable stores an empty isbn as NULL, which UNIQUE lets repeat.
func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// duplicate tells a UNIQUE violation from other failures.
func duplicate(err error) error {
	if strings.Contains(err.Error(), "UNIQUE constraint failed") {
		return fmt.Errorf("%w: %w", errDuplicate, err)
	}
	return err
}
