package baton

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"sort"
	"unicode"
	"unicode/utf8"
)

// WriteXml sets Content-Type to application/xml and writes v as XML. A
// string or []byte is XML already and goes out as it is. Any other value
// is taken as its JSON form (so a struct by its json tags) and written as
// elements: an object's keys in sorted order as child elements, a list as
// the element repeated, null as an empty element. The root element is
// rootTag if given; else the one key of an object of one key; else "doc".
//
// It returns an error, and writes nothing, for a value that cannot be
// encoded or a key or rootTag that is not an XML name ("a b", "1x",
// "a><b"), since it would make the document say something else.
func (w *Response) WriteXml(v any, rootTag ...string) error {
	var out []byte
	switch x := v.(type) {
	case string:
		out = []byte(x)
	case []byte:
		out = x
	default:
		var err error
		if out, err = encodeXML(v, rootTag); err != nil {
			return fmt.Errorf("baton: WriteXml: %w", err)
		}
	}
	w.Header().Set("Content-Type", "application/xml; charset=utf-8")
	w.buf = append(w.buf, out...)
	w.spill()
	return nil
}

// WriteXmlExit is WriteXml followed by Request.Exit. A value that cannot
// be encoded panics, as with WriteJsonExit.
func (w *Response) WriteXmlExit(v any, rootTag ...string) {
	if err := w.WriteXml(v, rootTag...); err != nil {
		panic(err)
	}
	w.req.Exit()
}

var errXMLName = errors.New("not an XML name")

// encodeXML writes v, by its JSON form, as XML.
func encodeXML(v any, rootTag []string) ([]byte, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var tree any
	if err := dec.Decode(&tree); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	root := "doc"
	switch {
	case len(rootTag) > 0 && rootTag[0] != "":
		root = rootTag[0]
	default:
		if m, ok := tree.(map[string]any); ok && len(m) == 1 {
			for k, v := range m {
				err := xmlElement(&b, k, v)
				return b.Bytes(), err
			}
		}
	}
	if !isXMLName(root) {
		return nil, fmt.Errorf("root %q: %w", root, errXMLName)
	}
	if m, ok := tree.(map[string]any); ok {
		b.WriteString("<" + root + ">")
		if err := xmlChildren(&b, m); err != nil {
			return nil, err
		}
		b.WriteString("</" + root + ">")
		return b.Bytes(), nil
	}
	err = xmlElement(&b, root, tree)
	return b.Bytes(), err
}

func xmlChildren(b *bytes.Buffer, m map[string]any) error {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := xmlElement(b, k, m[k]); err != nil {
			return err
		}
	}
	return nil
}

// xmlElement writes v as the element name: a list as the element repeated.
func xmlElement(b *bytes.Buffer, name string, v any) error {
	if !isXMLName(name) {
		return fmt.Errorf("key %q: %w", name, errXMLName)
	}
	if list, ok := v.([]any); ok {
		for _, item := range list {
			if err := xmlElement(b, name, item); err != nil {
				return err
			}
		}
		return nil
	}
	b.WriteString("<" + name + ">")
	switch x := v.(type) {
	case nil:
	case map[string]any:
		if err := xmlChildren(b, x); err != nil {
			return err
		}
	case string:
		xml.EscapeText(b, []byte(x))
	default: // json.Number, bool
		xml.EscapeText(b, fmt.Append(nil, x))
	}
	b.WriteString("</" + name + ">")
	return nil
}

// isXMLName reports whether s is an XML element name without a namespace
// prefix: a letter or underscore, then letters, digits, '_', '-' or '.'.
func isXMLName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r == utf8.RuneError:
			return false
		case r == '_' || unicode.IsLetter(r):
		case i > 0 && (r == '-' || r == '.' || unicode.IsDigit(r)):
		default:
			return false
		}
	}
	return true
}
