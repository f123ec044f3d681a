package vrule

import (
	"fmt"
	"reflect"
	"strings"
)

// Rules are the compiled rules of one struct type. A Rules is immutable
// after Compile and safe for concurrent use.
type Rules struct {
	typ    reflect.Type
	fields []field
}

// Violation is one failing rule of one field.
type Violation struct {
	// Field is the field's name (its json name), dotted for nested fields:
	// "address.city", "items.0.name".
	Field string
	// Rule is the rule's name: "required", "length", ...
	Rule string
	// Message is the custom message of the rule, or a default one.
	Message string
}

// Field is a field with rules, as listed by [Rules.Fields].
type Field struct {
	// Name is the field's name, dotted for nested fields, with "*" for the
	// elements of a slice: "items.*.name".
	Name string
	// Rules are the field's rules, in the order of its tag.
	Rules []Rule
}

type field struct {
	name     string // json name
	index    int    // in its struct
	embedded bool   // flattened into the parent's names
	rules    []Rule
	required bool
	// nested holds the rules of a struct (or pointer to one) field; elem
	// those of the elements of a slice or array of structs.
	nested, elem *Rules
}

// Compile reads the v tags of struct type t (or a pointer to one), its
// embedded and nested structs, once. The error names the type, the field
// and the rule.
func Compile(t reflect.Type) (*Rules, error) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return nil, fmt.Errorf("vrule: type %v is not a struct", t)
	}
	c := compiler{seen: map[reflect.Type]*Rules{}, busy: map[reflect.Type]bool{}}
	return c.compile(t, t, "")
}

type compiler struct {
	seen map[reflect.Type]*Rules
	busy map[reflect.Type]bool // being compiled: a cycle, as in type Node struct{ Kids []Node }
}

func (c *compiler) compile(top, t reflect.Type, path string) (*Rules, error) {
	if r, ok := c.seen[t]; ok {
		return r, nil
	}
	rs := &Rules{typ: t}
	c.seen[t] = rs
	c.busy[t] = true
	defer delete(c.busy, t)
	for i := range t.NumField() {
		sf := t.Field(i)
		if !sf.IsExported() && !sf.Anonymous {
			continue
		}
		name, skip := FieldName(sf)
		if skip {
			continue
		}
		f := field{name: name, index: i}
		goPath := path + sf.Name
		if tag, ok := sf.Tag.Lookup("v"); ok {
			rules, err := Parse(tag)
			if err == nil {
				err = applies(rules, sf.Type)
			}
			if err != nil {
				return nil, fmt.Errorf("vrule: type %v field %s: %w", top, goPath, err)
			}
			f.rules = rules
			for _, r := range rules {
				f.required = f.required || r.Name == "required"
			}
		}
		ft := deref(sf.Type)
		switch {
		case ft.Kind() == reflect.Struct:
			_, jsonNamed := jsonName(sf)
			f.embedded = sf.Anonymous && !jsonNamed
			n, err := c.compile(top, ft, goPath+".")
			if err != nil {
				return nil, err
			}
			f.nested = c.keep(n)
		case (ft.Kind() == reflect.Slice || ft.Kind() == reflect.Array) && deref(ft.Elem()).Kind() == reflect.Struct:
			n, err := c.compile(top, deref(ft.Elem()), goPath+".")
			if err != nil {
				return nil, err
			}
			f.elem = c.keep(n)
		}
		if f.rules != nil || f.nested != nil || f.elem != nil {
			rs.fields = append(rs.fields, f)
		}
	}
	return rs, nil
}

// keep drops the rules of a nested type that has none, so that checking
// does not walk it; a type still being compiled (a cycle) is kept.
func (c *compiler) keep(r *Rules) *Rules {
	if r.fields == nil && !c.busy[r.typ] {
		return nil
	}
	return r
}

// FieldName returns the name of a struct field as the request sees it: the
// json tag, else the p tag, else the field name; skip is true for json:"-".
func FieldName(sf reflect.StructField) (name string, skip bool) {
	if j := sf.Tag.Get("json"); j == "-" {
		return "", true
	}
	if n, ok := jsonName(sf); ok {
		return n, false
	}
	if p := sf.Tag.Get("p"); p != "" {
		return p, false
	}
	return sf.Name, false
}

func jsonName(sf reflect.StructField) (string, bool) {
	n, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
	return n, n != "" && n != "-"
}

func deref(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

// applies reports a rule that cannot hold for a field of type t.
func applies(rules []Rule, t reflect.Type) error {
	t = deref(t)
	k := t.Kind()
	list := k == reflect.Slice || k == reflect.Array
	elem := t
	if list {
		elem = deref(t.Elem())
	}
	for _, r := range rules {
		switch {
		case r.Name == "required":
		case r.IsLength():
			if k != reflect.String && k != reflect.Map && !list && k != reflect.Interface {
				return fmt.Errorf("rule %q: a length rule on a %v", r.Name, t)
			}
		default:
			if !scalarKind(elem.Kind()) {
				return fmt.Errorf("rule %q: a value rule on a %v", r.Name, t)
			}
		}
	}
	return nil
}

func scalarKind(k reflect.Kind) bool {
	switch k {
	case reflect.String, reflect.Bool, reflect.Interface,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64:
		return true
	}
	return false
}

// Fields lists the fields that have rules, nested ones included, in the
// order of the struct.
func (r *Rules) Fields() []Field {
	var out []Field
	r.list("", map[*Rules]bool{}, &out)
	return out
}

func (r *Rules) list(prefix string, on map[*Rules]bool, out *[]Field) {
	if r == nil || on[r] {
		return
	}
	on[r] = true
	defer delete(on, r)
	for _, f := range r.fields {
		name := prefix + f.name
		if f.rules != nil {
			*out = append(*out, Field{Name: name, Rules: f.rules})
		}
		if f.embedded {
			f.nested.list(prefix, on, out)
		} else {
			f.nested.list(name+".", on, out)
		}
		f.elem.list(name+".*.", on, out)
	}
}

// Type returns the struct type the rules were compiled from.
func (r *Rules) Type() reflect.Type { return r.typ }
