import { Type } from 'class-transformer';
import { IsInt, IsNotEmpty, IsPositive, IsString, Max, Min } from 'class-validator';

/** An order as the HTTP API accepts it and the `orders` topic carries it. */
export class OrderDto {
  @IsString()
  @IsNotEmpty()
  id!: string;

  @IsString()
  @IsNotEmpty()
  customerId!: string;

  /** Amount in cents. */
  @Type(() => Number)
  @IsInt()
  @IsPositive()
  @Max(100_000_000)
  amountCents!: number;

  @Type(() => Number)
  @IsInt()
  @Min(1)
  quantity!: number;
}
