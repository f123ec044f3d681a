package openapi

import (
	"reflect"
	"strconv"

	"github.com/getkin/kin-openapi/openapi3"
)

// applyRules writes a field's v rules, description and default onto its
// schema s, a copy the field owns. On an array, the value rules (bounds,
// enums, patterns, formats) go onto its items, as vrule checks them.
func applyRules(s *openapi3.Schema, f reqField) {
	s.Description = f.description
	t := deref(f.typ)
	if f.def != "" {
		s.Default = typed(f.def, t)
	}
	item := s
	elem := t
	if s.Type.Is("array") && s.Items != nil && s.Items.Ref == "" {
		v := *s.Items.Value
		item = &v
		s.Items = &openapi3.SchemaRef{Value: item}
		elem = deref(t.Elem())
	}
	numeric := item.Type.Is("integer") || item.Type.Is("number")
	for _, r := range f.rules {
		lo, hasLo := r.Min()
		hi, hasHi := r.Max()
		switch {
		case r.IsLength():
			switch {
			case s.Type.Is("string"):
				if hasLo {
					s.MinLength = uint64(lo)
				}
				if hasHi {
					n := uint64(hi)
					s.MaxLength = &n
				}
			case s.Type.Is("array"):
				if hasLo {
					s.MinItems = uint64(lo)
				}
				if hasHi {
					n := uint64(hi)
					s.MaxItems = &n
				}
			case s.Type.Is("object"):
				if hasLo {
					s.MinProps = uint64(lo)
				}
				if hasHi {
					n := uint64(hi)
					s.MaxProps = &n
				}
			}
		case r.Name == "min" || r.Name == "max" || r.Name == "between":
			if !numeric {
				continue // a number in a string: no schema keyword says so
			}
			if hasLo {
				item.Min = &lo
			}
			if hasHi {
				item.Max = &hi
			}
		case r.Name == "in":
			item.Enum = nil
			for _, a := range r.Args {
				item.Enum = append(item.Enum, typed(a, elem))
			}
		case r.Name == "regex":
			if item.Type.Is("string") {
				item.Pattern = r.Args[0]
			}
		case r.Name == "email" || r.Name == "url" || r.Name == "date":
			if item.Type.Is("string") {
				item.Format = map[string]string{"email": "email", "url": "uri", "date": "date"}[r.Name]
			}
		}
	}
}

// typed is a tag's text as a value of kind t, for enums and defaults;
// the text itself when it does not parse.
func typed(text string, t reflect.Type) any {
	switch t.Kind() {
	case reflect.Bool:
		if b, err := strconv.ParseBool(text); err == nil {
			return b
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if i, err := strconv.ParseInt(text, 10, 64); err == nil {
			return i
		}
	case reflect.Float32, reflect.Float64:
		if f, err := strconv.ParseFloat(text, 64); err == nil {
			return f
		}
	}
	return text
}
