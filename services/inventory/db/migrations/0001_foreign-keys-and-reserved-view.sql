-- Custom SQL migration: drizzle-kit cannot express these unqualified. It writes REFERENCES "public"."x"
-- and CREATE VIEW "public"."x", but the inventory tables live in the schema DATABASE_SCHEMA names
-- (reached through search_path), so here they are written by hand without a schema.
ALTER TABLE "reservation_items" ADD CONSTRAINT "reservation_items_reservation_id_fk" FOREIGN KEY ("reservation_id") REFERENCES "reservations"("id");--> statement-breakpoint
ALTER TABLE "reservation_items" ADD CONSTRAINT "reservation_items_product_id_fk" FOREIGN KEY ("product_id") REFERENCES "products"("id");--> statement-breakpoint
-- Per product, "reserved" as kept on the product beside the sum of its ACTIVE reservations' quantities.
-- They must always be equal: select * from reserved_per_product where reserved <> held_by_active_reservations
CREATE VIEW "reserved_per_product" AS
  select p.id as product_id, p.stock, p.reserved,
         coalesce(sum(ri.quantity) filter (where r.status = 'active'), 0)::integer as held_by_active_reservations
  from products p
  left join reservation_items ri on ri.product_id = p.id
  left join reservations r on r.id = ri.reservation_id
  group by p.id, p.stock, p.reserved;
