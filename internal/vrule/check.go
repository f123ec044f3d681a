package vrule

import (
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Check checks v, a value of the compiled type or a pointer to one, and
// returns every failing rule of every field, in the order of the struct;
// nil when v is valid (or a nil pointer).
func (r *Rules) Check(v reflect.Value) []Violation {
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return nil
		}
		v = v.Elem()
	}
	if v.Type() != r.typ {
		panic("vrule: Check of a " + v.Type().String() + " with the rules of " + r.typ.String())
	}
	var out []Violation
	r.walk(v, "", &out)
	return out
}

func (r *Rules) walk(v reflect.Value, prefix string, out *[]Violation) {
	for i := range r.fields {
		f := &r.fields[i]
		fv := v.Field(f.index)
		name := prefix + f.name
		if f.rules != nil {
			checkField(f, fv, name, out)
		}
		if f.nested != nil {
			if sv, ok := indirect(fv); ok {
				if f.embedded {
					f.nested.walk(sv, prefix, out)
				} else {
					f.nested.walk(sv, name+".", out)
				}
			}
		}
		if f.elem != nil {
			if lv, ok := indirect(fv); ok {
				for j := range lv.Len() {
					if ev, ok := indirect(lv.Index(j)); ok {
						f.elem.walk(ev, name+"."+strconv.Itoa(j)+".", out)
					}
				}
			}
		}
	}
}

// indirect follows pointers and interfaces; ok is false at a nil.
func indirect(v reflect.Value) (reflect.Value, bool) {
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return v, false
		}
		v = v.Elem()
	}
	return v, true
}

func isEmpty(v reflect.Value) bool {
	v, ok := indirect(v)
	if !ok {
		return true
	}
	switch v.Kind() {
	case reflect.String, reflect.Slice, reflect.Map, reflect.Array:
		return v.Len() == 0
	}
	return false
}

func checkField(f *field, fv reflect.Value, name string, out *[]Violation) {
	if isEmpty(fv) {
		if f.required {
			for _, r := range f.rules {
				if r.Name == "required" {
					*out = append(*out, violation(r, name, ""))
				}
			}
		}
		return
	}
	v, _ := indirect(fv)
	for _, r := range f.rules {
		switch {
		case r.Name == "required":
		case r.IsLength():
			n := v.Len()
			if v.Kind() == reflect.String {
				n = utf8.RuneCountInString(v.String())
			}
			if !r.holdsLength(n) {
				*out = append(*out, violation(r, name, shown(v)))
			}
		case v.Kind() == reflect.Slice || v.Kind() == reflect.Array:
			for j := range v.Len() {
				if ev, ok := indirect(v.Index(j)); ok && !r.holds(ev) {
					*out = append(*out, violation(r, name, shown(ev)))
					break
				}
			}
		default:
			if !r.holds(v) {
				*out = append(*out, violation(r, name, shown(v)))
			}
		}
	}
}

func (r *Rule) holdsLength(n int) bool {
	f := float64(n)
	switch r.Name {
	case "length":
		return f >= r.nums[0] && f <= r.nums[1]
	case "min-length":
		return f >= r.nums[0]
	default: // max-length
		return f <= r.nums[0]
	}
}

// holds checks a value rule against a scalar.
func (r *Rule) holds(v reflect.Value) bool {
	switch r.Name {
	case "min", "max", "between":
		n, ok := number(v)
		if !ok {
			return false
		}
		switch r.Name {
		case "min":
			return n >= r.nums[0]
		case "max":
			return n <= r.nums[0]
		}
		return n >= r.nums[0] && n <= r.nums[1]
	}
	s := text(v)
	switch r.Name {
	case "in":
		return r.set[s]
	case "not-in":
		return !r.set[s]
	case "regex":
		return r.re.MatchString(s)
	case "email":
		return isEmail(s)
	case "url":
		return isURL(s)
	case "date":
		return isDate(s)
	case "integer":
		_, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			_, err = strconv.ParseUint(s, 10, 64)
		}
		return err == nil
	case "float":
		_, err := strconv.ParseFloat(s, 64)
		return err == nil
	case "boolean":
		switch strings.ToLower(s) {
		case "1", "0", "true", "false", "on", "off", "yes", "no":
			return true
		}
		return false
	}
	return true
}

var dateLayouts = []string{"2006-01-02", "2006/01/02", "2006.01.02", "20060102"}

func isDate(s string) bool {
	for _, l := range dateLayouts {
		if _, err := time.Parse(l, s); err == nil {
			return true
		}
	}
	return false
}

// number reads a value as a number: a number kind, or a string that
// parses as one.
func number(v reflect.Value) (float64, bool) {
	switch v.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return float64(v.Int()), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return float64(v.Uint()), true
	case reflect.Float32, reflect.Float64:
		return v.Float(), true
	}
	f, err := strconv.ParseFloat(text(v), 64)
	return f, err == nil
}

// text is a scalar's string form.
func text(v reflect.Value) string {
	switch v.Kind() {
	case reflect.String:
		return v.String()
	case reflect.Bool:
		return strconv.FormatBool(v.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(v.Int(), 10)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return strconv.FormatUint(v.Uint(), 10)
	case reflect.Float32:
		return strconv.FormatFloat(v.Float(), 'f', -1, 32)
	case reflect.Float64:
		return strconv.FormatFloat(v.Float(), 'f', -1, 64)
	}
	return ""
}

// shown is the value as a message quotes it: cut to 64 bytes, so that a
// long input does not come back whole in every error.
func shown(v reflect.Value) string {
	s := text(v)
	if v.Kind() == reflect.Slice || v.Kind() == reflect.Map || v.Kind() == reflect.Array {
		s = strconv.Itoa(v.Len()) + " elements"
	}
	if len(s) > 64 {
		cut := 64
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "..."
	}
	return s
}
