//! Each step of the adapter on its own at the DC: the lookup, disabling, expiring, memberships,
//! and a rename between discovery and revocation.

use super::*;

#[tokio::test]
#[ignore = "needs a Samba AD DC: run the README's test command (sets REVOKE_TEST_AD_*)"]
async fn the_person_is_found_by_name_and_recorded_by_guid_and_look_alikes_find_nobody() {
    let (mut ldap, run, ou) = fresh_ou().await;
    let ada = format!("ada{run}");
    let ada_dn = add_user(&mut ldap, &ou, &ada, &format!("{ada}@example.com")).await;
    // A look-alike whose name starts with the person's, and two people sharing one mail.
    add_user(
        &mut ldap,
        &ou,
        &format!("{ada}x"),
        &format!("{ada}x@example.com"),
    )
    .await;
    add_user(&mut ldap, &ou, &format!("bo{run}"), "shared@example.com").await;
    add_user(&mut ldap, &ou, &format!("cy{run}"), "shared@example.com").await;

    let t = target(&ou, "");
    let p = t
        .find_person(&who(&ada, "x@example.com"))
        .await
        .unwrap()
        .expect("found");
    assert_eq!(
        p.guid,
        guid_of(&mut ldap, &ada_dn).await,
        "the GUID the DC holds"
    );
    assert!(p.dn.eq_ignore_ascii_case(&ada_dn), "{} vs {ada_dn}", p.dn);
    for hostile in ["*", "x)(sAMAccountName=*", &ada[..ada.len() - 1], "ada*"] {
        assert_eq!(
            t.find_person(&who(hostile, "x@example.com")).await.unwrap(),
            None,
            "{hostile}"
        );
    }
    let by_mail = target(&ou, "match_attribute = \"mail\"");
    match by_mail
        .find_person(&who("nobody", "shared@example.com"))
        .await
    {
        Err(TargetError::Ambiguous(why)) => assert!(why.contains("2 entries"), "{why}"),
        other => panic!("two people with one mail: {other:?}"),
    }
    // Trusting other CAs (the system's public ones), the adapter refuses the DC's certificate:
    // it never binds, so the password never leaves.
    let public = target_trusting("/etc/ssl/certs/ca-certificates.crt", &ou, "");
    match public.find_person(&who(&ada, "x@example.com")).await {
        Err(TargetError::Permanent(why)) => assert!(why.contains("TLS"), "{why}"),
        other => panic!("a DC whose certificate no trusted CA signed: {other:?}"),
    }
}

#[tokio::test]
#[ignore = "needs a Samba AD DC: run the README's test command (sets REVOKE_TEST_AD_*)"]
async fn a_disabled_account_cannot_bind_and_a_look_alike_still_can() {
    use revoke::adapters::RevokeResult;
    let (mut ldap, run, ou) = fresh_ou().await;
    let pw = PW;
    let ada = format!("ada{run}");
    let ada_dn = add_enabled_user(&mut ldap, &ou, &ada, pw).await;
    let twin_dn = add_enabled_user(&mut ldap, &ou, &format!("{ada}x"), pw).await;
    assert_eq!(
        bind_as(&ada_dn, pw).await,
        Ok(()),
        "the leaver signs in before"
    );

    let t = target(&ou, "");
    let p = t
        .find_person(&who(&ada, "x@example.com"))
        .await
        .unwrap()
        .unwrap();
    match t.disable(&p.guid).await.unwrap() {
        RevokeResult::Revoked { removed_at } => assert!(removed_at.is_some(), "whenChanged"),
        other => panic!("{other:?}"),
    }
    let back = t.verify_disabled(&p.guid).await.unwrap();
    assert!(back.gone, "{}", back.detail);
    // At the peer: AD's own answer to the leaver's bind.
    assert_eq!(
        bind_as(&ada_dn, pw).await,
        Err("account disabled".to_string())
    );
    assert_eq!(
        bind_as(&twin_dn, pw).await,
        Ok(()),
        "the look-alike is untouched"
    );
    // The write is a compare-and-swap: bits read before someone else changed them are not
    // written back over theirs (a transient error: the retry reads them again).
    let now: u32 = value(&mut ldap, &twin_dn, "userAccountControl")
        .await
        .parse()
        .unwrap();
    let twin_guid = guid_of(&mut ldap, &twin_dn).await;
    let stale = t.swap_control(&twin_guid, now | 0x10000, 0x2, "test").await;
    assert!(matches!(stale, Err(TargetError::Transient(_))), "{stale:?}");
    assert_eq!(
        value(&mut ldap, &twin_dn, "userAccountControl").await,
        now.to_string()
    );
    // A second run writes nothing.
    assert!(matches!(
        t.disable(&p.guid).await.unwrap(),
        RevokeResult::AlreadyAbsent {
            removed_at: Some(_)
        }
    ));
}

#[tokio::test]
#[ignore = "needs a Samba AD DC: run the README's test command (sets REVOKE_TEST_AD_*)"]
async fn an_expired_account_cannot_bind() {
    use revoke::adapters::RevokeResult;
    let (mut ldap, run, ou) = fresh_ou().await;
    let pw = PW;
    let bo = format!("bo{run}");
    let bo_dn = add_enabled_user(&mut ldap, &ou, &bo, pw).await;
    let t = target(&ou, "");
    let p = t
        .find_person(&who(&bo, "x@example.com"))
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(
        t.expire(&p.guid).await.unwrap(),
        RevokeResult::Revoked {
            removed_at: Some(_)
        }
    ));
    assert!(t.verify_expired(&p.guid).await.unwrap().gone);
    assert_eq!(
        bind_as(&bo_dn, pw).await,
        Err("account expired".to_string())
    );
    assert!(matches!(
        t.expire(&p.guid).await.unwrap(),
        RevokeResult::AlreadyAbsent {
            removed_at: Some(_)
        }
    ));
}

#[tokio::test]
#[ignore = "needs a Samba AD DC: run the README's test command (sets REVOKE_TEST_AD_*)"]
async fn memberships_go_for_the_leaver_only_and_nested_groups_stay() {
    use revoke::adapters::RevokeResult;
    let (mut ldap, run, ou) = fresh_ou().await;
    let cy = format!("cy{run}");
    let cy_dn = add_user(&mut ldap, &ou, &cy, &format!("{cy}@example.com")).await;
    let twin_dn = add_user(&mut ldap, &ou, &format!("{cy}x"), "t@example.com").await;
    let inner = add_group(&mut ldap, &ou, &format!("inner{run}"), &[&cy_dn, &twin_dn]).await;
    let outer = add_group(&mut ldap, &ou, &format!("outer{run}"), &[&cy_dn, &inner]).await;
    let t = target(&ou, "");
    let p = t
        .find_person(&who(&cy, "x@example.com"))
        .await
        .unwrap()
        .unwrap();
    let groups = t.groups_of(&p).await.unwrap();
    assert_eq!(groups.len(), 2, "{:?}", p.member_of);
    for g in &groups {
        assert!(matches!(
            t.remove_membership(g, &p.guid).await.unwrap(),
            RevokeResult::Revoked {
                removed_at: Some(_)
            }
        ));
        assert!(t.verify_membership(g, &p.guid).await.unwrap().gone);
        assert!(matches!(
            t.remove_membership(g, &p.guid).await.unwrap(),
            RevokeResult::AlreadyAbsent { .. }
        ));
    }
    // At the peer: the leaver is in no group; the twin keeps inner; inner stays nested in outer.
    for (dn, want) in [
        (&inner, vec![twin_dn.clone()]),
        (&outer, vec![inner.clone()]),
    ] {
        let got = values(&mut ldap, dn, "member").await;
        assert_eq!(got.len(), want.len(), "{dn}: {got:?}");
        assert!(
            got.iter()
                .zip(&want)
                .all(|(a, b)| a.eq_ignore_ascii_case(b)),
            "{dn}: {got:?}"
        );
    }
}

/// The attack the GUID stands against: between discovery and revocation the leaver's entry is
/// renamed and someone else takes the old name and DN. The revocation still lands on the
/// leaver (wherever the entry is now), and the newcomer at the old name keeps signing in; sent
/// twice, it changes nothing more.
#[tokio::test]
#[ignore = "needs a Samba AD DC: run the README's test command (sets REVOKE_TEST_AD_*)"]
async fn a_rename_between_discovery_and_revocation_cannot_redirect_it() {
    use revoke::adapters::RevokeResult;
    let (mut ldap, run, ou) = fresh_ou().await;
    let pw = PW;
    let dee = format!("dee{run}");
    let dee_dn = add_enabled_user(&mut ldap, &ou, &dee, pw).await;
    let t = target(&ou, "");
    let p = t
        .find_person(&who(&dee, "x@example.com"))
        .await
        .unwrap()
        .unwrap();

    // Renamed (new CN and sAMAccountName), and a newcomer takes the old name and DN.
    let moved_rdn = format!("CN=dee-old{run}");
    ldap.modifydn(&dee_dn, &moved_rdn, true, None)
        .await
        .unwrap()
        .success()
        .expect("rename");
    let moved_dn = format!("{moved_rdn},{ou}");
    ldap.modify(
        &moved_dn,
        vec![ldap3::Mod::Replace(
            "sAMAccountName",
            HashSet::from([format!("deeold{run}").as_str()]),
        )],
    )
    .await
    .unwrap()
    .success()
    .expect("new sAMAccountName");
    let newcomer_dn = add_enabled_user(&mut ldap, &ou, &dee, pw).await;
    assert!(
        newcomer_dn.eq_ignore_ascii_case(&dee_dn),
        "the old DN is taken again"
    );

    for _ in 0..2 {
        let r = t.disable(&p.guid).await.unwrap();
        assert!(matches!(
            r,
            RevokeResult::Revoked { .. } | RevokeResult::AlreadyAbsent { .. }
        ));
    }
    assert_eq!(
        bind_as(&moved_dn, pw).await,
        Err("account disabled".to_string()),
        "the leaver, renamed"
    );
    assert_eq!(
        bind_as(&newcomer_dn, pw).await,
        Ok(()),
        "the newcomer at the old name"
    );
    assert!(t.verify_disabled(&p.guid).await.unwrap().gone);
}

/// The other match attributes, and StartTLS on the plain port: `userPrincipalName` and `mail`
/// match the identity's email, `employeeID` its employee id, each exactly.
#[tokio::test]
#[ignore = "needs a Samba AD DC: run the README's test command (sets REVOKE_TEST_AD_*)"]
async fn the_person_is_found_by_upn_and_employee_id_and_over_starttls() {
    let (mut ldap, run, ou) = fresh_ou().await;
    let eli = format!("eli{run}");
    let eli_dn = add_user(&mut ldap, &ou, &eli, &format!("eli.mail{run}@example.com")).await;
    let upn = format!("eli.upn{run}@revoke.test");
    let employee = format!("E{run}");
    ldap.modify(
        &eli_dn,
        vec![
            ldap3::Mod::Replace("userPrincipalName", HashSet::from([upn.as_str()])),
            ldap3::Mod::Replace("employeeID", HashSet::from([employee.as_str()])),
        ],
    )
    .await
    .unwrap()
    .success()
    .unwrap();
    let guid = guid_of(&mut ldap, &eli_dn).await;
    let person = |email: &str, employee_id: &str| Identity {
        employee_id: employee_id.into(),
        email: Some(email.into()),
        username: Some("nobody-by-this-name".into()),
        kind: IdentityKind::Employee,
    };
    for (setting, who, found) in [
        ("userPrincipalName", person(&upn.to_uppercase(), "E0"), true),
        (
            "userPrincipalName",
            person(&format!("eli.mail{run}@example.com"), "E0"),
            false,
        ),
        (
            "mail",
            person(&format!("eli.mail{run}@example.com"), "E0"),
            true,
        ),
        ("employeeID", person("x@example.com", &employee), true),
        (
            "employeeID",
            person("x@example.com", &format!("{employee}*")),
            false,
        ),
    ] {
        let t = target(&ou, &format!("match_attribute = {setting:?}\n"));
        let got = t.find_person(&who).await.unwrap().map(|p| p.guid);
        assert_eq!(got, found.then_some(guid), "{setting} {who:?}");
    }
    // StartTLS on port 389, the certificate checked the same way.
    let url = var("REVOKE_TEST_AD_URL")
        .replace("ldaps://", "ldap://")
        .replace(":636", ":389");
    std::env::set_var("REVOKE_TEST_AD_REVOKER_PW", var("REVOKE_TEST_AD_BIND_PW"));
    let table: toml::Table = format!(
        "url = {url:?}\nstarttls = true\nca_file = {:?}\nbind_dn = {:?}\npassword_env = \"REVOKE_TEST_AD_REVOKER_PW\"\nbase_dn = {ou:?}\n",
        var("REVOKE_TEST_AD_CA_FILE"),
        var("REVOKE_TEST_AD_BIND_DN"),
    )
    .parse()
    .unwrap();
    let t = AdTarget::from_table(&table, "ad").unwrap();
    let got = t.find_person(&who(&eli, "x@example.com")).await.unwrap();
    assert_eq!(got.map(|p| p.guid), Some(guid), "over StartTLS");
}
