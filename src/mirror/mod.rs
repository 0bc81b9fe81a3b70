//! Mirroring a revision into the target Kubernetes `Secret`, as pure functions: splitting the payload
//! by secret type, rendering templates, the keyed HMAC that detects drift without storing values, and
//! the ownership rules that decide whether Keyward may write the Secret at all.

pub mod digest;
pub mod ownership;
pub mod payload;
pub mod render;
pub mod source;
pub mod target_type;

pub use digest::{
    DATA_HMAC_ANNOTATION, HmacKey, HmacKeyTooShort, data_hmac, drifted, payload_digest,
};
pub use ownership::{
    CLAIM_ANNOTATION, Claim, CreationPolicy, MANAGED_BY_LABEL, MANAGED_BY_VALUE,
    OWNED_KEYS_ANNOTATION, OwnerRef, Refusal, TargetMeta, WriteDecision, claim,
    managed_annotations, managed_labels, write_decision,
};
pub use payload::{
    DEFAULT_SINGLE_KEY, PayloadError, PayloadFormat, is_valid_secret_key, payload_entries,
};
pub use render::{
    PREVIOUS_SUFFIX, RenderError, RenderSpec, RenderedData, TemplateError, Templates, render,
    render_with_previous,
};
pub use source::{SourceProblem, source_payload};
pub use target_type::{TargetTypeError, check_target_type};
