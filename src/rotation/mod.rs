//! Rotation: when a value is due for replacement, and how a new value is made.
//!
//! Everything here is pure: the clock is a parameter, and randomness comes from a caller-supplied
//! CSPRNG (with a convenience wrapper over the thread-local one). The planner converts the
//! `ManagedSecret` spec into these validated types; every parse error says which field is wrong and why
//! without repeating the input.

pub mod decision;
pub mod generate;
pub mod schedule;
pub mod spec_policy;
pub mod trigger;

pub use decision::{
    NextDue, RotationDecision, RotationSchedule, RotationState, check_rotation, rotation_decision,
};

pub use generate::{
    FieldSource, GeneratorInput, KeyInput, KeyValuePolicy, KeyValuePolicyError, PasswordPolicy,
    PolicyError, ValuePolicy,
};
pub use schedule::{
    CronSchedule, Interval, JitterSeed, Schedule, ScheduleError, is_due, later, next_due, until_due,
};
pub use spec_policy::value_policy;
pub use trigger::{ManualTrigger, ROTATE_ANNOTATION, manual_trigger};
