//! Rendering the target Secret from a revision: templates, types, keyed HMAC. (Skeleton.)
