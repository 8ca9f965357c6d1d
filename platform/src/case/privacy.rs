//! Personal data by need (个人信息最小必要): a public reporter's name and phone number
//! are read in full only by the roles whose step needs them — the operator (受理员), who
//! calls the reporter back (回访) and enters hotline calls, and the supervisor (监督员), who
//! may have to reach the reporter to find the problem on site (核实). Every other reader —
//! dispatcher, department handler, shift leader, leader, admin, an anonymous caller — gets
//! them masked (`张*`, `138****0000`). The interchange never carries them (see `uplink::outbox`).
//! Pure: the API applies it to every case it shows (`CaseView`).

use crate::auth::token::Claims;
use crate::case::model::Case;
use crate::case::workflow::Role;

/// How much of a reporter's contact details a reader sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContactAccess {
    Full,
    Masked,
}

impl ContactAccess {
    /// Full for anyone holding a role that calls back or verifies, masked otherwise.
    pub fn of(roles: &[Role]) -> ContactAccess {
        if roles
            .iter()
            .any(|r| matches!(r, Role::Operator | Role::Supervisor))
        {
            ContactAccess::Full
        } else {
            ContactAccess::Masked
        }
    }

    /// For a signed-in caller; an anonymous one (a public report's answer) sees masked
    /// values, like any reader without the need.
    pub fn of_caller(caller: Option<&Claims>) -> ContactAccess {
        caller.map_or(ContactAccess::Masked, |c| ContactAccess::of(&c.roles))
    }

    /// The case as this reader may see it.
    pub fn apply(self, mut case: Case) -> Case {
        if self == ContactAccess::Masked {
            case.reporter_name = case.reporter_name.as_deref().map(mask_name);
            case.reporter_phone = case.reporter_phone.as_deref().map(mask_phone);
        }
        case
    }
}

/// A name as its first character and one `*` (`张三丰` → `张*`), whatever its length, so
/// the mask does not tell the length either.
pub fn mask_name(name: &str) -> String {
    match name.trim().chars().next() {
        Some(first) => format!("{first}*"),
        None => String::new(),
    }
}

/// A phone number with its middle hidden: the first three and last four characters of a
/// number of 11 or more (`13800001234` → `138****1234`), only the last two of a shorter
/// one (`87654321` → `****21`), nothing of one under six.
pub fn mask_phone(phone: &str) -> String {
    let chars: Vec<char> = phone.trim().chars().collect();
    let n = chars.len();
    let tail = |k: usize| chars[n - k..].iter().collect::<String>();
    match n {
        0 => String::new(),
        11.. => format!("{}****{}", chars[..3].iter().collect::<String>(), tail(4)),
        6..=10 => format!("****{}", tail(2)),
        _ => "****".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_keep_their_first_character() {
        for (name, masked) in [
            ("张三", "张*"),
            ("欧阳娜娜", "欧*"),
            ("李", "李*"),
            (" 王五 ", "王*"),
            ("Alice Smith", "A*"),
            ("", ""),
        ] {
            assert_eq!(mask_name(name), masked, "{name:?}");
        }
    }

    #[test]
    fn phones_keep_their_ends() {
        for (phone, masked) in [
            ("13800000000", "138****0000"),
            ("13912345678", "139****5678"),
            ("+8613912345678", "+86****5678"),
            ("0571-87654321", "057****4321"),
            ("87654321", "****21"),
            ("12319", "****"),
            ("", ""),
        ] {
            assert_eq!(mask_phone(phone), masked, "{phone:?}");
        }
    }

    #[test]
    fn only_callback_and_verification_roles_see_it_all() {
        let table = [
            (Role::Operator, ContactAccess::Full),
            (Role::Supervisor, ContactAccess::Full),
            (Role::Dispatcher, ContactAccess::Masked),
            (Role::Handler, ContactAccess::Masked),
            (Role::ShiftLeader, ContactAccess::Masked),
            (Role::Leader, ContactAccess::Masked),
            (Role::Admin, ContactAccess::Masked),
        ];
        assert_eq!(table.len(), Role::ALL.len(), "every role has an answer");
        for (role, access) in table {
            assert_eq!(ContactAccess::of(&[role]), access, "{role:?}");
        }
        // One role with the need is enough.
        assert_eq!(
            ContactAccess::of(&[Role::Leader, Role::Operator]),
            ContactAccess::Full
        );
        assert_eq!(ContactAccess::of(&[]), ContactAccess::Masked);
        assert_eq!(ContactAccess::of_caller(None), ContactAccess::Masked);
    }

    proptest::proptest! {
        /// A masked phone shows at most 7 of its characters and always hides at least
        /// four; a mobile number keeps exactly its first three and last four.
        #[test]
        fn a_masked_phone_hides_the_middle(phone in "[0-9]{0,15}") {
            let masked = mask_phone(&phone);
            let shown = masked.chars().filter(|c| *c != '*').count();
            proptest::prop_assert!(shown <= 7 && shown + 4 <= phone.len().max(4));
            if phone.len() == 11 {
                proptest::prop_assert_eq!(masked, format!("{}****{}", &phone[..3], &phone[7..]));
            }
        }
    }
}
