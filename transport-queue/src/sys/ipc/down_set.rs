//! The `down` channels of a member process's members, waited on at once by
//! its bridge thread (every platform but Linux): an ipc-channel receiver
//! set, and a control channel that brings it receivers (on Windows a set
//! holds handles that may not move between threads, so it is made, and
//! fed, on the bridge thread).

use std::io;

use ipc_channel::ipc::{self, IpcReceiver, IpcReceiverSet, IpcSelectionResult, IpcSender};
use serde::{Deserialize, Serialize};

use super::channel::{Delivered, DownReceiver, ipc_to_io};
use crate::wire::Down;

/// A member's channel for the set to read.
#[derive(Serialize, Deserialize, Debug)]
struct Watch {
    token: u64,
    down: IpcReceiver<Down>,
}

/// What [`DownSet::select`] gives.
#[derive(Debug)]
pub(crate) enum SetEvent {
    /// The receiver added under `token` is read as `id` from now on.
    Added { token: u64, id: u64 },
    /// It could not be: the hub is out of its reach.
    AddFailed { token: u64 },
    /// A message on `id`.
    Message { id: u64, delivered: Delivered },
    /// `id`'s hub is gone (or sent something this protocol does not know).
    Closed { id: u64 },
}

/// Hands receivers to the set's thread.
#[derive(Clone, Debug)]
pub(crate) struct DownSetCtl(IpcSender<Watch>);

impl DownSetCtl {
    /// Has the set read `down` from now on, as `token`. On failure the
    /// receiver is gone with the message that carried it.
    pub(crate) fn add(
        &self,
        token: u64,
        down: DownReceiver,
    ) -> Result<(), (io::Error, Option<DownReceiver>)> {
        self.0
            .send(Watch { token, down: down.0 })
            .map_err(|e| (ipc_to_io(e), None))
    }
}

/// The receiver set.
pub(crate) struct DownSet {
    set: IpcReceiverSet,
    ctl_id: u64,
}

impl DownSet {
    /// A new set, made on the thread that reads it.
    pub(crate) fn new() -> io::Result<(DownSet, DownSetCtl)> {
        let (ctl, ctl_rx) = ipc::channel::<Watch>()?;
        let mut set = IpcReceiverSet::new()?;
        let ctl_id = set.add(ctl_rx)?;
        Ok((DownSet { set, ctl_id }, DownSetCtl(ctl)))
    }

    /// Waits until something happens.
    pub(crate) fn select(&mut self) -> io::Result<Vec<SetEvent>> {
        let mut events = Vec::new();
        for result in self.set.select()? {
            match result {
                IpcSelectionResult::MessageReceived(id, msg) if id == self.ctl_id => {
                    let Ok(Watch { token, down }) = msg.to::<Watch>() else {
                        continue;
                    };
                    events.push(match self.set.add(down) {
                        Ok(id) => SetEvent::Added { token, id },
                        Err(_) => SetEvent::AddFailed { token },
                    });
                }
                IpcSelectionResult::MessageReceived(id, msg) => events.push(match msg.to::<Down>() {
                    Ok(msg) => SetEvent::Message {
                        id,
                        delivered: Delivered {
                            msg,
                            tickets: Vec::new(),
                        },
                    },
                    Err(_) => SetEvent::Closed { id },
                }),
                IpcSelectionResult::ChannelClosed(id) => events.push(SetEvent::Closed { id }),
            }
        }
        Ok(events)
    }
}
