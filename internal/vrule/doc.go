// Package vrule checks struct fields against GoFrame's v-rule syntax.
//
// A field carries its rules in a v tag, separated by '|', with optional
// custom messages after a '#', one per rule in the same order:
//
//	Name  string `json:"name" v:"required|length:6,16#name is required|name must be 6-16 characters"`
//	Age   int    `json:"age"  v:"between:18,130"`
//	Email string `json:"email" v:"email"`
//
// [Compile] reads a struct type once (at registration) and returns its
// [Rules]; [Rules.Check] then checks a value of that type with no further
// reflection over tags and reports every failing field, not only the first.
// A rule that cannot be understood is an error from Compile naming the
// type, the field and the rule.
//
// # Rules
//
//	required           the value is not empty (see below)
//	length:min,max     the length in characters (runes) of a string, or the
//	                   number of elements of a slice or map, is in [min,max]
//	min-length:n       the length is at least n
//	max-length:n       the length is at most n
//	min:n, max:n       the value, as a number, is at least / at most n
//	between:min,max    the value, as a number, is in [min,max]
//	in:a,b,...         the value is one of a, b, ...
//	not-in:a,b,...     the value is none of a, b, ...
//	regex:pattern      the value matches the pattern (Go's RE2 syntax;
//	                   the pattern may contain '|' but not '#')
//	email              an e-mail address
//	url                an absolute URL
//	date               a date: 2006-01-02, 2006/01/02, 2006.01.02 or 20060102
//	integer            an integer
//	float              a number
//	boolean            1, 0, true, false, on, off, yes, no (any case)
//
// A custom message may use {field} (the field's name) and {value} (the
// value that failed, cut to 64 bytes).
//
// As in GoFrame, "empty" means an empty string, an empty slice, map or
// array, or a nil pointer or interface; a number or a bool is never empty
// (its zero value is a value). A field that is empty and not required
// passes every other rule. On a slice or array of scalars, the value rules
// (min, in, email, ...) apply to each element.
//
// # Names
//
// A field's name is its json tag, else its p tag, else the Go field name;
// json:"-" fields are skipped. Embedded structs are flattened; a nested
// struct (or pointer to one) is checked with its fields named
// "parent.child", and the elements of a slice of structs as
// "parent.0.child".
//
// # Libraries
//
// The rules are implemented here, on the standard library: email reads
// the address with net/mail and url with net/url (format.go). Every baton
// binary is also its own master process, which must stay under 10 MB of
// resident memory; go-playground/validator, the ecosystem's standard for
// these formats, allocates 430 KB at package init in every binary, and the
// other rules would not map onto its tags anyway: it has no
// regular-expression rule by design, its min and max mean a length for
// strings where GoFrame's mean a value, its oneof cannot hold values with
// spaces, and it has neither GoFrame's empty-skip rule nor one message per
// rule.
package vrule
