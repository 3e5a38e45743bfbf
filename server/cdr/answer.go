package cdr

import "unicode/utf8"

// maxAnswerMessage bounds the error text sent back to Voicenter: it is for a
// human reading Voicenter's logs, not a dump.
const maxAnswerMessage = 1 << 10

// AppendAnswer appends the body Voicenter expects back, in the encoding the
// CDR came in, so that Voicenter records the delivery as done (err nil:
// Err 0, Errdesc "OK") or failed (Err 1, Errdesc err's text, escaped and
// bounded). JSON and Form get {"Err":0,"Errdesc":"OK"}; XMLRPC gets a
// methodResponse whose one param is a struct with the same two members.
// Voicenter takes HTTP 200 as the acknowledgement; send this body with
// [ContentType] as its type.
func AppendAnswer(dst []byte, enc Encoding, err error) []byte {
	code, msg := byte('0'), "OK"
	if err != nil {
		code, msg = '1', cutMessage(err.Error())
	}
	if enc == XMLRPC {
		dst = append(dst, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+
			`<methodResponse><params><param><value><struct>`+
			`<member><name>Err</name><value><int>`...)
		dst = append(dst, code)
		dst = append(dst, `</int></value></member>`+
			`<member><name>Errdesc</name><value><string>`...)
		dst = appendXMLText(dst, msg)
		return append(dst, `</string></value></member>`+
			`</struct></value></param></params></methodResponse>`+"\n"...)
	}
	dst = append(dst, `{"Err":`...)
	dst = append(dst, code)
	dst = append(dst, `,"Errdesc":`...)
	dst = appendJSONString(dst, msg)
	return append(dst, '}')
}

// ContentType is the Content-Type of [AppendAnswer]'s body for enc, since
// an XML-RPC client expects XML back and the others JSON.
func ContentType(enc Encoding) string {
	if enc == XMLRPC {
		return "text/xml; charset=utf-8"
	}
	return "application/json; charset=utf-8"
}

func cutMessage(s string) string {
	if len(s) <= maxAnswerMessage {
		return s
	}
	i := maxAnswerMessage
	for j := 0; j < utf8.UTFMax-1 && i > 0 && !utf8.RuneStart(s[i]); j++ {
		i--
	}
	return s[:i]
}

// appendXMLText appends s escaped as XML character data. Characters XML
// 1.0 does not allow (most control characters, invalid UTF-8) become
// U+FFFD, so the answer is always well-formed.
func appendXMLText(dst []byte, s string) []byte {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == '<':
			dst = append(dst, "&lt;"...)
		case r == '>':
			dst = append(dst, "&gt;"...)
		case r == '&':
			dst = append(dst, "&amp;"...)
		case r == '\r':
			// A raw CR would be normalized to LF by the reader.
			dst = append(dst, "&#xD;"...)
		case r == utf8.RuneError && size == 1, !isXMLChar(r):
			dst = append(dst, "\uFFFD"...)
		default:
			dst = append(dst, s[i:i+size]...)
		}
		i += size
	}
	return dst
}

// isXMLChar reports whether r is in XML 1.0's Char production.
func isXMLChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD ||
		r >= 0x10000 && r <= 0x10FFFF
}
