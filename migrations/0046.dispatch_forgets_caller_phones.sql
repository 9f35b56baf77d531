-- depends: 0030.dispatch
-- Dispatch never calls a caller: `alarms.accepted` no longer carries the caller's phone number
-- and reading an older message drops it (issue 14, decision 0077). The alarms dispatch kept
-- before lose it here.
update dispatch_alarms set body = body - 'caller_phone' where body ? 'caller_phone';
