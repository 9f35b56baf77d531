// The unit's work orders as the officer sees them: what notify delivered (assign, withdraw)
// and what the officer answered. Kept in localStorage per unit, so a reload or a dead battery
// does not lose the order being worked (notify re-sends only what was never acknowledged).

const KEEP = 20; // orders remembered, newest first by issue time
const NEXT = { assigned: 'accepted', accepted: 'en_route', en_route: 'on_scene', on_scene: 'closed' };
const RANK = { assigned: 0, accepted: 1, en_route: 2, on_scene: 3, closed: 4, rejected: 4 };

export class Orders {
  constructor(unitId) {
    this.key = `kj.orders.${unitId}`;
    this.byId = new Map();
    this.postKey = `kj.post.${unitId}`;
    this.post = null; // the post dispatch sent the unit to patrol at (有警出警、无警巡逻)
    try {
      this.post = JSON.parse(localStorage.getItem(this.postKey) || 'null');
    } catch {
      this.post = null;
    }
    try {
      for (const order of JSON.parse(localStorage.getItem(this.key) || '[]')) {
        this.byId.set(order.id, order);
      }
    } catch {
      this.byId.clear();
    }
  }

  save() {
    const kept = [...this.byId.values()]
      .sort((a, b) => b.issued_at.localeCompare(a.issued_at))
      .slice(0, KEEP);
    this.byId = new Map(kept.map((o) => [o.id, o]));
    localStorage.setItem(this.key, JSON.stringify(kept));
  }

  // a delivery frame from notify; returns true when it changed what the officer sees
  receive(delivery) {
    const wo = delivery.work_order;
    const id = delivery.work_order_id;
    if (wo.post_id) return this.receivePost(delivery);
    const known = this.byId.get(id);
    if (delivery.action === 'withdraw' || delivery.withdrawn) {
      if (known?.withdrawn) return false;
      const order = known ?? { id, state: 'assigned', dismissed: false, issued_at: wo.issued_at };
      order.withdrawn = true;
      order.withdraw_reason = wo.withdraw_reason || order.withdraw_reason || '';
      order.work_order = known?.work_order ?? wo;
      order.dismissed = order.state === 'closed' || order.state === 'rejected';
      this.byId.set(id, order);
      this.save();
      return true;
    }
    if (known) return false; // a repeat: notify sends until acknowledged
    this.byId.set(id, {
      id,
      work_order: wo,
      issued_at: wo.issued_at,
      state: 'assigned',
      withdrawn: false,
      withdraw_reason: '',
      dismissed: false,
    });
    this.save();
    return true;
  }

  // a post's order: no answer is asked, the unit stays free for calls; its withdrawal (a call
  // took the unit, or a better post) only takes the post off the screen
  receivePost(delivery) {
    const wo = delivery.work_order;
    const id = delivery.work_order_id;
    if (delivery.action === 'withdraw' || delivery.withdrawn) {
      if (this.post?.id !== id) return false;
      this.post = null;
    } else {
      if (this.post?.id === id) return false;
      this.post = { id, post_id: wo.post_id, scene: wo.scene, radius_m: wo.patrol_radius_m, issued_at: wo.issued_at };
    }
    localStorage.setItem(this.postKey, JSON.stringify(this.post));
    return true;
  }

  // the order on the screen: the newest one not finished, or a withdrawal not yet seen
  current() {
    const open = [...this.byId.values()]
      .filter((o) => !o.dismissed)
      .sort((a, b) => b.issued_at.localeCompare(a.issued_at));
    return open[0] ?? null;
  }

  // the officer answered: the order moves on at once, whatever the network does
  answered(id, kind) {
    const order = this.byId.get(id);
    if (!order) return;
    if (RANK[kind] > RANK[order.state] || kind === 'rejected') order.state = kind;
    if (kind === 'rejected') order.dismissed = true;
    this.save();
  }

  dismiss(id) {
    const order = this.byId.get(id);
    if (order) {
      order.dismissed = true;
      this.save();
    }
  }

  clear() {
    localStorage.removeItem(this.key);
    localStorage.removeItem(this.postKey);
    this.post = null;
    this.byId.clear();
  }

  static next(state) {
    return NEXT[state] ?? null;
  }
}
