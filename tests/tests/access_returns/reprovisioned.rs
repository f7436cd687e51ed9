//! `revoke verify` (the binary) after access was re-provisioned BY HAND under new ids at two
//! real peers — ids no evidence names, so only discovery can find them: the leaver added to two
//! new LDAP groups at slapd (a `groupOfNames` by DN, a `posixGroup` by uid) and to a new SCIM
//! group at scim2-server. The look-alike bystander (names starting with the leaver's) is put in
//! the same new groups and must never be reported as the leaver's.

use crate::fleet::{closed_cases, evidence_ids, scim, Closed};
use crate::verify::{assert_still_gone, findings, revoke_verify, text};
use revoke_shared::config::Config;
use revoke_shared::contract::{AccessFinding, FindingKind, TargetKind};
use revoke_tests::slapd;
use serde_json::json;
use std::collections::{BTreeSet, HashSet};
use std::process::Output;

const NEW_PREFIX: &str = "re-provisioned: not in the evidence, present now: ";

async fn run(cfg: &Config, args: &[&str]) -> Output {
    let (cfg, args) = (
        cfg.clone(),
        args.iter().map(|a| a.to_string()).collect::<Vec<_>>(),
    );
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        revoke_verify(&cfg, &args)
    })
    .await
    .unwrap()
}

/// An administrator of slapd adds `dn` with `attrs`, with the test's own client.
async fn ldap_add(dn: &str, attrs: Vec<(&str, Vec<&str>)>) {
    let mut l = slapd::admin().await;
    let attrs: Vec<(&str, HashSet<&str>)> = attrs
        .into_iter()
        .map(|(k, v)| (k, v.into_iter().collect()))
        .collect();
    l.add(dn, attrs)
        .await
        .unwrap()
        .success()
        .unwrap_or_else(|e| panic!("adding {dn}: {e}"));
    let _ = l.unbind().await;
}

/// The values of `attr` on `dn`, read with the test's own client.
async fn ldap_values(dn: &str, attr: &str) -> Vec<String> {
    let mut l = slapd::admin().await;
    let (rs, _) = l
        .search(dn, ldap3::Scope::Base, "(objectClass=*)", vec![attr])
        .await
        .unwrap()
        .success()
        .unwrap_or_else(|e| panic!("reading {dn}: {e}"));
    let _ = l.unbind().await;
    rs.into_iter()
        .next()
        .and_then(|e| ldap3::SearchEntry::construct(e).attrs.remove(attr))
        .unwrap_or_default()
}

fn new_lines(stdout: &str) -> Vec<&str> {
    stdout.lines().filter(|l| l.contains("NEW: ")).collect()
}

fn named(fs: &[AccessFinding]) -> BTreeSet<(String, TargetKind, String, String)> {
    fs.iter()
        .map(|f| {
            (
                f.identity_id.clone(),
                f.target.kind,
                f.target.instance.clone(),
                f.object_id.to_lowercase(),
            )
        })
        .collect()
}

#[test]
#[ignore = "needs the real broker and the peers (slapd, scim2-server, Keycloak): run the README's test command"]
fn verify_finds_access_re_provisioned_under_new_ids_and_never_the_look_alike() {
    let env = crate::fleet::real_broker("access-reprov");
    env.block_on(async {
        let Closed {
            cfg,
            people,
            cases,
            bystander,
        } = closed_cases(&env, 2).await;
        let (leaver, alone) = (&cases[0], &cases[1]);
        assert!(bystander.username.starts_with(&people[0].username));

        // Nothing re-provisioned yet: discovery finds only what the evidence names.
        let out = run(&cfg, &[]).await;
        let (stdout, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
        assert!(new_lines(&stdout).is_empty(), "{stdout}");
        assert!(stdout.contains("0 discoveries failed"), "{stdout}");

        // By hand, under NEW ids, for leaver 0 — and for the look-alike bystander beside them.
        let dn_id = evidence_ids(leaver, TargetKind::Directory, "account")
            .into_iter()
            .find(|i| i.starts_with("ldap:"))
            .expect("the LDAP account in evidence");
        let dn = dn_id.strip_prefix("ldap:").unwrap().to_string();
        let base = dn.split_once(",ou=people,").expect("a person's DN").1;
        let bystander_dn = format!("uid={},ou=people,{base}", bystander.username);
        let ops = format!("cn=reprov-ops,ou=groups,{base}");
        let lab = format!("cn=reprov-lab,ou=groups,{base}");
        ldap_add(
            &ops,
            vec![
                ("objectClass", vec!["groupOfNames"]),
                ("cn", vec!["reprov-ops"]),
                ("member", vec![&dn, &bystander_dn]),
            ],
        )
        .await;
        ldap_add(
            &lab,
            vec![
                ("objectClass", vec!["posixGroup"]),
                ("cn", vec!["reprov-lab"]),
                ("gidNumber", vec!["5001"]),
                ("memberUid", vec![&people[0].username, &bystander.username]),
            ],
        )
        .await;
        let scim = scim();
        let user = evidence_ids(leaver, TargetKind::Saas, "account")
            .pop()
            .expect("the SCIM account in evidence");
        let filter = format!("userName eq \"{}\"", bystander.username);
        let (s, found) = scim
            .send(
                reqwest::Method::GET,
                &format!("/Users?filter={}", urlencode(&filter)),
                None,
            )
            .await;
        assert_eq!(s, 200, "{found}");
        assert_eq!(found["totalResults"], json!(1), "{found}");
        let bystander_user = found["Resources"][0]["id"].as_str().unwrap().to_string();
        let group = scim
            .create(
                "/Groups",
                json!({
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                    "displayName": format!("reprov-{}", people[0].username),
                    "members": [{"value": user}, {"value": bystander_user}],
                }),
                "the new SCIM group",
            )
            .await;

        let expected: BTreeSet<(String, TargetKind, String, String)> = [
            (
                TargetKind::Directory,
                "ldap",
                format!("ldap:member|{ops}|{dn}"),
            ),
            (
                TargetKind::Directory,
                "ldap",
                format!("ldap:memberUid|{lab}|{}", people[0].username),
            ),
            (
                TargetKind::Saas,
                cfg.worker.instance.as_str(),
                format!("Groups/{group}/members/{user}"),
            ),
        ]
        .into_iter()
        .map(|(k, i, o)| {
            (
                leaver.identity_id.clone(),
                k,
                i.to_string(),
                o.to_lowercase(),
            )
        })
        .collect();

        let out = run(&cfg, &[]).await;
        let (stdout, stderr) = text(&out);
        println!("revoke verify after re-provisioning under new ids by hand:\n{stdout}");
        assert_eq!(out.status.code(), Some(3), "{stdout}\n{stderr}");
        let new = new_lines(&stdout);
        assert_eq!(new.len(), 3, "{stdout}");
        for l in &new {
            assert!(l.contains(&leaver.case_id.to_string()), "{l}");
            assert!(l.contains(&format!("NEW: {NEW_PREFIX}")), "{l}");
        }
        for (_, _, _, object) in &expected {
            assert!(
                new.iter()
                    .any(|l| l.to_lowercase().contains(object.as_str())),
                "{object} not in\n{stdout}"
            );
        }
        // Nothing re-enabled, nothing unreadable, nothing of the other leaver, and the look-alike
        // never appears as the leaver's.
        assert!(!stdout.contains("RETURNED:"), "{stdout}");
        assert!(!stdout.contains("could not read"), "{stdout}");
        assert!(!stdout.contains(&bystander.username), "{stdout}");
        assert!(!stdout.contains(&bystander_user), "{stdout}");
        assert_still_gone(&stdout, alone.case_id);
        assert!(
            stdout.contains("not in the evidence: 3 NEW, 0 gone; 0 discoveries failed"),
            "{stdout}"
        );

        let first = findings(&env, &cfg).await;
        assert_eq!(
            named(&first),
            expected,
            "exactly the re-provisioned objects: {first:#?}"
        );
        assert_eq!(first.len(), 3);
        for f in &first {
            assert_eq!(f.kind, FindingKind::AccessReturned);
            assert_eq!(f.case_id, leaver.case_id);
            assert!(f.read_back.starts_with(NEW_PREFIX), "{f:?}");
            assert!(f.read_back.len() > NEW_PREFIX.len(), "{f:?}");
            assert!(!f.principal.is_empty(), "{f:?}");
        }

        // Again: the same findings by id.
        let out = run(&cfg, &[]).await;
        assert_eq!(out.status.code(), Some(3), "{}", text(&out).0);
        let both = findings(&env, &cfg).await;
        assert_eq!(both.len(), 6);
        let ids = |fs: &[AccessFinding]| fs.iter().map(|f| f.finding_id).collect::<BTreeSet<_>>();
        assert_eq!(ids(&both), ids(&first), "a second run reports the same ids");

        // One target: only its NEW line. The other leaver alone: clean.
        let out = run(&cfg, &["--target", "saas"]).await;
        let (stdout, _) = text(&out);
        assert_eq!(out.status.code(), Some(3), "{stdout}");
        let new = new_lines(&stdout);
        assert_eq!(new.len(), 1, "{stdout}");
        assert!(
            new[0].contains(&format!("Groups/{group}/members/{user}")),
            "{stdout}"
        );
        assert!(!stdout.contains(" directory "), "{stdout}");
        let out = run(&cfg, &["--identity", &alone.identity_id]).await;
        let (stdout, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
        assert!(new_lines(&stdout).is_empty(), "{stdout}");
        let now = findings(&env, &cfg).await;
        assert_eq!(
            now.len(),
            7,
            "the saas finding again, none for the other leaver"
        );
        assert_eq!(ids(&now), ids(&first), "under the same id");

        // A discovery that fails is "could not read" (exit 4), never a clean bill: the LDAP
        // table pointed at a group subtree that does not exist.
        let mut broken = cfg.clone();
        broken
            .targets
            .get_mut("directory")
            .and_then(|d| d.get_mut("ldap"))
            .and_then(|l| l.as_table_mut())
            .expect("[targets.directory.ldap]")
            .insert("group_base_dn".into(), format!("ou=nowhere,{base}").into());
        let args = ["--target", "directory", "--identity", &alone.identity_id];
        let out = run(&broken, &args).await;
        let (stdout, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(4), "{stdout}\n{stderr}");
        let failed: Vec<&str> = stdout
            .lines()
            .filter(|l| l.contains("could not read: discovery failed:"))
            .collect();
        assert_eq!(failed.len(), 1, "{stdout}");
        assert!(
            failed[0].contains("discovery ldap+sso") && failed[0].contains("group_base_dn"),
            "{stdout}"
        );
        assert_eq!(findings(&env, &cfg).await.len(), 7, "nothing published");

        // verify only read: at the peers, with the test's own clients, every membership made by
        // hand is still there.
        let members: Vec<String> = ldap_values(&ops, "member")
            .await
            .iter()
            .map(|m| m.to_lowercase())
            .collect();
        assert!(members.contains(&dn.to_lowercase()), "{members:?}");
        assert!(
            members.contains(&bystander_dn.to_lowercase()),
            "{members:?}"
        );
        let uids = ldap_values(&lab, "memberUid").await;
        assert!(uids.contains(&people[0].username) && uids.contains(&bystander.username));
        let g = scim.get_ok(&format!("/Groups/{group}")).await;
        let ids = revoke_tests::scim_http::member_ids(&g);
        assert!(ids.contains(&user) && ids.contains(&bystander_user), "{g}");
    });
}

/// `s` as a query value (the filter's spaces and quotes).
fn urlencode(s: &str) -> String {
    let mut u = reqwest::Url::parse("http://x/").unwrap();
    u.query_pairs_mut().append_pair("q", s);
    u.query().unwrap()["q=".len()..].to_string()
}
