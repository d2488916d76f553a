//! Fleet nodes, which brokers from 9.x on enrol (`POST /v1/nodes`) to get a node token (`nt_...`)
//! for the node-control WebSocket `/v1/node/ws`, where they register their workers
//! (`agent.register`) and Relaycast delivers their messages (`deliver`).
//!
//! Modelled: enrolment (a node enrolled again under the same id gets a new token), the agents bound
//! to a node (by `POST /v1/nodes/{name}/agents` or `agent.register`), and each bound agent's
//! delivery sequence. Not modelled: capabilities, handlers, actions, load, HTTP-push delivery.
//!
//! Bounded: at most [`MAX_NODES`] nodes per workspace and [`MAX_AGENTS`] agents bound to a node
//! (507 `limit_exceeded` beyond).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::{MAX_AGENTS, Model, Workspace, agent_not_found, room};
use crate::ids;
use crate::wire::ApiError;

/// Most nodes a workspace holds (a broker enrols one).
pub(crate) const MAX_NODES: usize = 64;

/// An enrolled node.
#[derive(Debug)]
pub(crate) struct Node {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) kind: Option<String>,
    pub(crate) role: Option<String>,
    pub(crate) version: String,
    pub(crate) token: String,
    pub(crate) created_at: String,
    /// `node.register` or `node.heartbeat` seen on its socket.
    pub(crate) live: bool,
    pub(crate) last_heartbeat_at: Option<String>,
    /// The agents bound to it, by name, with the last delivery `seq` sent for each.
    pub(crate) agents: BTreeMap<String, u64>,
}

/// `POST /v1/nodes`' request.
#[derive(Debug, Default)]
pub(crate) struct Enrol {
    pub(crate) node_id: Option<String>,
    pub(crate) name: String,
    pub(crate) kind: Option<String>,
    pub(crate) role: Option<String>,
    pub(crate) version: Option<String>,
}

impl Model {
    /// The workspace and node whose token is `token`.
    pub(crate) fn node_by_token(&self, token: &str) -> Option<(usize, usize)> {
        self.workspaces.iter().enumerate().find_map(|(w, ws)| {
            ws.nodes
                .iter()
                .position(|n| n.token == token)
                .map(|n| (w, n))
        })
    }
}

impl Workspace {
    /// The node whose name or id is `name`.
    pub(crate) fn node_by_name(&self, name: &str) -> Option<usize> {
        self.nodes
            .iter()
            .position(|n| n.name == name || n.id == name)
    }

    /// `POST /v1/nodes`: enrols a node, or gives the node already enrolled under that id a new
    /// token (a re-mint).
    pub(crate) fn enrol_node(&mut self, enrol: Enrol) -> Result<usize, ApiError> {
        let name = enrol.name.trim();
        if name.is_empty() {
            return Err(ApiError::invalid("name is required"));
        }
        let id = enrol
            .node_id
            .filter(|id| !id.trim().is_empty())
            .unwrap_or_else(|| ids::secret("node_"));
        let version = enrol.version.unwrap_or_default();
        if let Some(n) = self.nodes.iter().position(|n| n.id == id) {
            let node = &mut self.nodes[n];
            node.token = ids::secret("nt_live_");
            node.name = name.to_owned();
            node.version = version;
            return Ok(n);
        }
        room(self.nodes.len(), MAX_NODES, "nodes per workspace")?;
        self.nodes.push(Node {
            id,
            name: name.to_owned(),
            kind: enrol.kind,
            role: enrol.role,
            version,
            token: ids::secret("nt_live_"),
            created_at: ids::now(),
            live: false,
            last_heartbeat_at: None,
            agents: BTreeMap::new(),
        });
        Ok(self.nodes.len() - 1)
    }

    /// Binds the agent named `agent` (which must exist) to node `n`.
    pub(crate) fn bind_agent(&mut self, n: usize, agent: &str) -> Result<(), ApiError> {
        if self.agent_by_name(agent).is_none() {
            return Err(agent_not_found(agent));
        }
        let node = &mut self.nodes[n];
        if !node.agents.contains_key(agent) {
            room(node.agents.len(), MAX_AGENTS, "agents per node")?;
            node.agents.insert(agent.to_owned(), 0);
        }
        Ok(())
    }

    /// `agent.register` on node `n`'s socket: registers the agent (or gives the existing one a
    /// new token and marks it online) and binds it to the node. Returns the agent's index.
    pub(crate) fn register_node_agent(&mut self, n: usize, name: &str) -> Result<usize, ApiError> {
        let a = match self.agent_by_name(name.trim()) {
            Some(a) => {
                let agent = &mut self.agents[a];
                agent.token = ids::secret("at_live_");
                agent.status = "online".to_owned();
                agent.last_seen = ids::now();
                a
            }
            None => self.register_agent(name, Some("agent"), None, None)?,
        };
        let agent = self.agents[a].name.clone();
        self.bind_agent(n, &agent)?;
        Ok(a)
    }

    /// The next delivery `seq` for `agent` on node `n` (1 for its first), if it is bound there.
    pub(crate) fn next_delivery_seq(&mut self, n: usize, agent: &str) -> Option<u64> {
        let seq = self.nodes.get_mut(n)?.agents.get_mut(agent)?;
        *seq += 1;
        Some(*seq)
    }

    /// A node roster entry (the `POST /v1/nodes` answer without its token).
    pub(crate) fn node_json(&self, n: usize) -> Value {
        let node = &self.nodes[n];
        json!({
            "id": node.id,
            "name": node.name,
            "kind": node.kind,
            "role": node.role,
            "delivery_adapter": null,
            "delivery": null,
            "capabilities": [],
            "tags": [],
            "version": node.version,
            "status": "online",
            "live": node.live,
            "handlers_live": false,
            "load": 0.0,
            "active_agents": node.agents.len(),
            "max_agents": 0,
            "last_heartbeat_at": node.last_heartbeat_at,
            "created_at": node.created_at,
        })
    }

    /// The answer to `POST /v1/nodes/{name}/agents`: the binding of `agent` to node `n`.
    pub(crate) fn binding_json(&self, n: usize, agent: &str) -> Value {
        let node = &self.nodes[n];
        let agent_id = self.agent_by_name(agent).map(|a| self.agents[a].id.clone());
        json!({
            "id": ids::id("bnd_"),
            "agent_id": agent_id,
            "agent_name": agent,
            "node_id": node.id,
            "node_name": node.name,
            "node_kind": node.kind.as_deref().unwrap_or("ws"),
            "node_role": node.role.as_deref().unwrap_or("broker"),
            "status": "active",
            "session_ref": null,
            "priority": 0,
            "created_at": ids::now(),
            "updated_at": null,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workspace() -> Workspace {
        let mut model = Model::default();
        let w = model.create_workspace("w").expect("workspace");
        model.workspaces.remove(w)
    }

    fn enrol(id: &str) -> Enrol {
        Enrol {
            node_id: Some(id.to_owned()),
            name: "lead".to_owned(),
            ..Enrol::default()
        }
    }

    #[test]
    fn enrolling_again_mints_a_new_token() {
        let mut ws = workspace();
        let n = ws.enrol_node(enrol("node_a")).expect("enrol");
        let token = ws.nodes[n].token.clone();
        assert!(token.starts_with("nt_live_"));
        assert_eq!(ws.enrol_node(enrol("node_a")).expect("again"), n);
        assert_ne!(ws.nodes[n].token, token);
        assert_eq!(ws.enrol_node(enrol("node_b")).expect("other"), n + 1);
        let err = ws
            .enrol_node(Enrol::default())
            .expect_err("a node needs a name");
        assert_eq!(err.code, "invalid_request");
    }

    #[test]
    fn bound_agents_count_their_deliveries() {
        let mut ws = workspace();
        let n = ws.enrol_node(enrol("node_a")).expect("enrol");
        assert_eq!(
            ws.bind_agent(n, "ghost").expect_err("unknown").code,
            "agent_not_found"
        );
        let a = ws.register_node_agent(n, "w1").expect("register");
        let token = ws.agents[a].token.clone();
        assert_eq!(ws.register_node_agent(n, "w1").expect("again"), a);
        assert_ne!(ws.agents[a].token, token);
        assert_eq!(ws.next_delivery_seq(n, "w1"), Some(1));
        assert_eq!(ws.next_delivery_seq(n, "w1"), Some(2));
        assert_eq!(ws.next_delivery_seq(n, "lead"), None);
        for k in 0..MAX_NODES - 1 {
            ws.enrol_node(enrol(&format!("node_{k}"))).expect("within");
        }
        let err = ws.enrol_node(enrol("node_z")).expect_err("beyond");
        assert_eq!(err.code, "limit_exceeded");
    }
}
