//! Typed values (docs/SERVICES.md "Speed"): a value written every bar of a replay — a
//! heartbeat, the latest scan — is kept as its Rust value by the embedded store and turned
//! into its JSON text only when someone reads it as text (the API, a listener, a text
//! `get`). Readers that know the type ([`SystemMemory::read_typed_with`]) take the value as it
//! is. Other backends store the text ([`SystemMemory::put_typed`]'s default), so every reader
//! of every backend sees the same text.
//!
//! [`SystemMemory::read_typed_with`]: crate::SystemMemory::read_typed_with
//! [`SystemMemory::put_typed`]: crate::SystemMemory::put_typed

use std::any::Any;

/// A store value with its JSON text rendered on demand.
pub trait TypedValue: Any + Send + Sync {
    /// Appends the value's JSON text: exactly what a text `put` of it stores.
    fn write_json(&self, out: &mut String);
    /// The value, for a reader that downcasts it to the type it knows.
    fn as_any(&self) -> &dyn Any;
    /// A boxed copy (the first write of a key).
    fn clone_box(&self) -> Box<dyn TypedValue>;
    /// Overwrites `self` with `other` in place (reusing buffers) when `other` is of the same
    /// type; `false` (and `self` untouched) when not.
    fn assign(&mut self, other: &dyn TypedValue) -> bool;
}

/// The JSON text of `v`.
pub fn json_of(v: &dyn TypedValue) -> String {
    let mut s = String::new();
    v.write_json(&mut s);
    s
}

/// A stored value as a reader finds it: the text a writer put, or a typed value.
#[derive(Clone, Copy)]
pub enum StoredRef<'a> {
    Text(&'a str),
    Typed(&'a dyn TypedValue),
}

impl<'a> StoredRef<'a> {
    /// The typed value as `T`, when it is one.
    pub fn typed<T: TypedValue>(self) -> Option<&'a T> {
        match self {
            Self::Typed(v) => v.as_any().downcast_ref::<T>(),
            Self::Text(_) => None,
        }
    }

    /// Calls `f` with the text (rendered for a typed value).
    pub fn with_text<R>(self, f: impl FnOnce(&str) -> R) -> R {
        match self {
            Self::Text(s) => f(s),
            Self::Typed(v) => f(&json_of(v)),
        }
    }
}

/// An embedded store's entry.
pub(crate) enum Entry {
    Text(String),
    Typed(Box<dyn TypedValue>),
}

impl Entry {
    /// The entry's text (a copy; rendered for a typed value).
    pub(crate) fn text(&self) -> String {
        match self {
            Self::Text(s) => s.clone(),
            Self::Typed(v) => json_of(v.as_ref()),
        }
    }

    pub(crate) fn as_ref(&self) -> StoredRef<'_> {
        match self {
            Self::Text(s) => StoredRef::Text(s),
            Self::Typed(v) => StoredRef::Typed(v.as_ref()),
        }
    }

    /// Calls `f` with the entry's text without copying a text entry.
    pub(crate) fn with_text<R>(&self, f: impl FnOnce(&str) -> R) -> R {
        self.as_ref().with_text(f)
    }

    /// Sets the entry to `value`'s text, reusing a text entry's buffer.
    pub(crate) fn set_text(&mut self, value: &str) {
        match self {
            Self::Text(s) => {
                s.clear();
                s.push_str(value);
            }
            Self::Typed(_) => *self = Self::Text(value.to_string()),
        }
    }

    /// An entry holding `value` as given (text, or a copy of the typed value).
    pub(crate) fn of(value: StoredRef<'_>) -> Self {
        match value {
            StoredRef::Text(t) => Self::Text(t.to_string()),
            StoredRef::Typed(v) => Self::Typed(v.clone_box()),
        }
    }

    /// Sets the entry to `value` as given, reusing its buffer or typed value when it can.
    pub(crate) fn set(&mut self, value: StoredRef<'_>) {
        match value {
            StoredRef::Text(t) => self.set_text(t),
            StoredRef::Typed(v) => self.set_typed(v),
        }
    }

    /// Sets the entry to `value`, in place when it already holds a value of that type.
    pub(crate) fn set_typed(&mut self, value: &dyn TypedValue) {
        if let Self::Typed(v) = self
            && v.assign(value)
        {
            return;
        }
        *self = Self::Typed(value.clone_box());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Debug, PartialEq)]
    struct Num(i64);

    impl TypedValue for Num {
        fn write_json(&self, out: &mut String) {
            out.push_str(&format!("{{\"n\":{}}}", self.0));
        }
        fn as_any(&self) -> &dyn Any {
            self
        }
        fn clone_box(&self) -> Box<dyn TypedValue> {
            Box::new(self.clone())
        }
        fn assign(&mut self, other: &dyn TypedValue) -> bool {
            match other.as_any().downcast_ref::<Self>() {
                Some(o) => {
                    self.0 = o.0;
                    true
                }
                None => false,
            }
        }
    }

    #[test]
    fn entries_switch_between_text_and_typed() {
        let mut e = Entry::Text("x".into());
        e.set_typed(&Num(3));
        assert_eq!(e.text(), "{\"n\":3}");
        assert_eq!(e.as_ref().typed::<Num>(), Some(&Num(3)));
        e.set_typed(&Num(4));
        assert_eq!(e.with_text(str::to_string), "{\"n\":4}");
        e.set_text("{\"n\":5}");
        assert_eq!(e.text(), "{\"n\":5}");
        assert!(e.as_ref().typed::<Num>().is_none());
        assert!(matches!(e.as_ref(), StoredRef::Text("{\"n\":5}")));
    }
}
