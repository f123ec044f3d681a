package vrule

import "strings"

// defaults are the default messages, GoFrame's English ones.
var defaults = map[string]string{
	"required":   "The {field} field is required",
	"length":     "The {field} value `{value}` length must be between {min} and {max}",
	"min-length": "The {field} value `{value}` length must be equal or greater than {min}",
	"max-length": "The {field} value `{value}` length must be equal or lesser than {max}",
	"min":        "The {field} value `{value}` must be equal or greater than {min}",
	"max":        "The {field} value `{value}` must be equal or lesser than {max}",
	"between":    "The {field} value `{value}` must be between {min} and {max}",
	"in":         "The {field} value `{value}` is not in acceptable range: {pattern}",
	"not-in":     "The {field} value `{value}` must not be in range: {pattern}",
	"regex":      "The {field} value `{value}` must be in regex of: {pattern}",
	"email":      "The {field} value `{value}` is not a valid email address",
	"url":        "The {field} value `{value}` is not a valid URL address",
	"date":       "The {field} value `{value}` is not a valid date",
	"integer":    "The {field} value `{value}` is not an integer",
	"float":      "The {field} value `{value}` is invalid float type",
	"boolean":    "The {field} value `{value}` field must be true or false",
}

func violation(r Rule, name, value string) Violation {
	msg := r.Message
	if msg == "" {
		msg = defaults[r.Name]
	}
	if strings.IndexByte(msg, '{') >= 0 {
		lo, hi := "", ""
		switch len(r.Args) {
		case 1:
			lo, hi = r.Args[0], r.Args[0]
		case 2:
			lo, hi = r.Args[0], r.Args[1]
		}
		msg = strings.NewReplacer(
			"{field}", name, "{value}", value,
			"{min}", lo, "{max}", hi, "{pattern}", strings.Join(r.Args, ","),
		).Replace(msg)
	}
	return Violation{Field: name, Rule: r.Name, Message: msg}
}
